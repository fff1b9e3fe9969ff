// Package fc holds Function Compute's domain and wire types (Service,
// Function, Trigger, ...), their validation, FC's API error codes and the FC
// request signature (the string-to-sign), so that the server (api, auth) and
// the client (client, cli) share one definition of the wire format.
//
// FC's wire units (seconds, MB) and exact JSON names live here and at the api
// edge only. The package imports nothing of openfc's and holds no state.
package fc
