// Package queue runs asynchronous invocations on JetStream: Enqueue stores
// an invocation in the OPENFC_ASYNC work-queue stream and returns only once
// JetStream has acknowledged it (so an accepted invocation survives a
// kill -9 of the node), and workers pull from one durable consumer shared
// by every node, invoke through the sync path (invoke), and acknowledge the
// message only when the invocation and its retries have ended. Retries
// follow the function's async config (maxAsyncRetryAttempts, default 3,
// with exponential backoff; maxAsyncEventAgeInSeconds, default 86400);
// throttled calls are retried without counting as attempts for up to 5 h,
// then fail; other platform errors count as attempts; x-fc-async-delay
// delays the first run. In-progress acknowledgements keep a long invocation
// from being redelivered.
//
// When an invocation ends, its onSuccess or onFailure destination (another
// function, by FC ARN, through this queue; or a NATS subject, nats:<subject>)
// receives a destination record before the message is acknowledged.
// With task mode (statefulInvocation), each invocation has a status record
// in the openfc_async bucket and can be stopped; invocations that failed
// after their retries or expired are kept in a dead-letter stream
// (OPENFC_DEAD) to be listed, redriven or purged. A *Queue is safe for concurrent use;
// Start and Shutdown own the workers.
package queue
