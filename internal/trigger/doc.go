// Package trigger runs functions' triggers. This file set covers HTTP
// triggers: FC's proxy URLs (/2016-08-15/proxy/{service}[.{qualifier}]/
// {function}/{path}) and custom domains, each checked against the
// function's http trigger (authType anonymous or function, the methods
// filter) and passed to invoke as an HTTP call; the function's status,
// headers and body go back as they are. Timer and event triggers come with
// the async path (issue #6).
//
// trigger sits below auth in the import order, so signature checks for
// authType function are handed in as Options.Verify. Handlers return
// *fc.Error values for api to render.
package trigger
