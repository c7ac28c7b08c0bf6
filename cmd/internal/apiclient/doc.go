// Package apiclient is what the commands that call the server's public API (docs/api.md) share: the
// configuration file they read the platforms' webhook secrets from, a minimal HTTP JSON client,
// and the Standard Webhooks headers a platform signs its completions with.
package apiclient
