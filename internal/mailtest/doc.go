// Package mailtest runs the peers sikkermail talks to on loopback, for
// tests, the bench and internal/demo (nothing that ships else): a go-smtp
// submission server and a go-imap server that enforce the mailboxes'
// rights (and check XOAUTH2 tokens by introspection), and simulators,
// built from the published protocols and from nothing of the client's,
// where no real peer can run here: Digital Post's sender API and an
// OAuth 2.0 / OpenID Connect server in the shape of Microsoft Entra ID.
// Each NewX starts one and returns an error if it cannot; StartX does
// the same for a test and stops it when the test ends. Real daemons from
// the Debian packages (Dovecot, slapd) are in the subpackage daemon,
// which only tests use.
package mailtest
