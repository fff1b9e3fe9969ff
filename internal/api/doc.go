// Package api serves FC's 2016-08-15 HTTP API (services, functions,
// triggers, versions, aliases, custom domains, provision/on-demand/async
// configs, layers, tags, account settings) and openfc's own platform API
// under /openfc/v1. It routes with http.ServeMux method patterns, gives every
// response an X-Fc-Request-Id, verifies FC signatures through auth, decodes
// bodies with FC's rules (case-insensitive keys, null = absent, bounded
// size) and renders errors as FC's {ErrorCode, ErrorMessage, RequestId}.
//
// Handlers hold no logic beyond decoding and rendering: FC's rules live in
// store. A *Server is an http.Handler, safe for concurrent use. api talks to
// store and auth (later invoke and queue), never to sandbox, pool or
// broker.
package api
