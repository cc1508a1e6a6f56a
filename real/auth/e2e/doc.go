// Package e2e tests real mode's security end to end: core/apiserver over a
// memory store behind real/apihttp with real/auth's authenticator,
// authorizer and join endpoint on an HTTPS test server; a node joins with a
// bootstrap token and a pinned CA, then uses client-go with its credentials.
// It lives apart from real/auth so that real/auth's own tests do not depend
// on the HTTP layer.
package e2e
