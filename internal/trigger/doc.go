// Package trigger runs functions' triggers.
//
// HTTP triggers (http.go): FC's proxy URLs (/2016-08-15/proxy/{service}
// [.{qualifier}]/{function}/{path}) and custom domains, each checked against
// the function's http trigger (authType anonymous or function, the methods
// filter) and passed to invoke as an HTTP call; the function's status,
// headers and body go back as they are.
//
// Timer triggers (timer.go): FC's cron expressions, one async invocation per
// tick per platform, in FC's timer event format.
//
// NATS event sources (nats.go), carried as FC's eventbridge trigger type so
// SDKs that know only FC's types still list them:
//
//	{"triggerEnable": true,
//	 "eventSourceConfig": {"eventSourceType": "NATS",
//	   "eventSourceParameters": {"sourceNATSParameters": {
//	     "Url": "",            // default: the platform's NATS
//	     "Subject": "logs.>",  // a plain subject (queue group per trigger) ...
//	     "Stream": "LOGS",     // ... or a JetStream stream (durable consumer)
//	     "Consumer": "", "QueueGroup": "", "DeliverPolicy": "all"}}},
//	 "runOptions": {"batchWindow": {"CountBasedWindow": 100, "TimeBasedWindow": 2}}}
//
// Messages are gathered into batches of up to CountBasedWindow messages
// (default 1, at most 10000) or TimeBasedWindow seconds after a batch's
// first message (default 0: what is already there, at most 15), and never
// more than the async payload limit (128 KB). Each batch is one async
// invocation (queue.Enqueue) whose event is a JSON array of CloudEvents
// (type Event):
//
//	[{"specversion":"1.0","id":"LOGS:42","source":"openfc:nats",
//	  "type":"nats:JetStream:Message","subject":"logs.app",
//	  "time":"2026-01-02T03:04:05.123Z","datacontenttype":"application/json",
//	  "data":{"level":"ERROR"},"natsstream":"LOGS","natssequence":42}, ...]
//
// data is the message itself when it is JSON, a string when it is other
// UTF-8 text, and data_base64 carries a binary one; a plain subject's
// events have type nats:Subject:Message and a random id. A stream batch is
// acknowledged once the queue stored it (at least once; the request ID
// derives from the stream sequences, so a batch redelivered whole is stored
// once); a plain subject's messages are at most once, like core NATS.
//
// OSS triggers (oss.go): S3/OSS-compatible bucket notifications (MinIO's or
// S3's event JSON, {"Records":[...]}) posted to
// POST /openfc/v1/events/oss/{service}/{function}/{trigger} (with
// "Authorization: Bearer <triggerConfig.webhookToken>" or an FC signature),
// or read from triggerConfig.natsSubject, become FC's OSS event
// ({"events":[{"eventName":"ObjectCreated:PutObject","oss":{"bucket":...,
// "object":{"key":...,"size":...,"eTag":...}}}]}) when their bucket is the
// sourceArn's and they match the trigger's events and filter.key prefix and
// suffix.
//
// trigger sits below auth in the import order, so signature checks are
// handed in as Verify options. Handlers return *fc.Error values for api to
// render.
package trigger
