// Package auth verifies Function Compute request signatures on the server.
//
// An [Authenticator] checks a request's FC signature, in the header form
// (Authorization: FC id:signature) or, on HTTP-trigger paths, the signed-URL
// form (x-fc-signature in the query), against the access keys its Lookup
// returns, and answers with the key that signed the request or an *fc.Error
// carrying FC's status and error code. The string-to-sign itself is defined
// once, in package fc, and shared with the client.
//
// Verify never reads the request body: FC does not sign it, and Content-MD5
// is signed verbatim without being checked (the SDKs encode it in three
// incompatible ways). Deciding which routes are anonymous (HTTP triggers and
// custom domains with authType anonymous) is the caller's job; what a key may
// do once authenticated (RAM policies) is out of scope.
//
// An Authenticator holds no mutable state and is safe for concurrent use.
// It imports only fc of openfc's packages.
package auth
