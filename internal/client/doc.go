// Package client is a Go client of the openfc API: FC's 2016-08-15 calls,
// signed with FC's signature (fc.SignRequest), plus openfc's /openfc/v1
// platform calls. The CLI, fcbench and the e2e tests use it.
//
// A *Client is safe for concurrent use. It imports only fc.
package client
