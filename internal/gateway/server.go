// Package gateway is sikkermail-gateway's HTTPS API over the core: the
// institution's one place for keys, rights, audit and outbox. Every call
// is made by a proven caller (an Entra ID access token for the gateway's
// API, or a client certificate over mutual TLS, checked by auth) and
// runs as that caller through core.As: their rights, their name in the
// audit log, helpdesk only as the token's groups or the gateway's list
// say. The API is JSON under /v1/, described by the OpenAPI document at
// /v1/openapi.json; every refusal is an error object with a stable code
// (the sentence's key) and its sentence in the caller's language.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sikkermail/internal/auth"
	"sikkermail/internal/core"
	"sikkermail/internal/i18n"
	"sikkermail/internal/policy"
	"sikkermail/internal/smime"
)

// Server serves the API.
type Server struct {
	core   *core.Core
	auth   *auth.Verifier
	mux    *http.ServeMux
	routes []string
	// sealing opens the submits clients sealed while they kept them:
	// the identity they seal to first, then those it replaced, kept to
	// open what was sealed to them. Nil: none.
	sealing atomic.Pointer[[]*smime.Identity]

	// refusals counts the refusals of unproven callers written to the
	// audit log, by address, this minute: a flood of bad tokens is
	// refused all the same, but cannot fill the append-only log.
	refusalMu sync.Mutex
	refusals  map[string]int
	minute    time.Time
}

// RefusalsAudited is how many refusals of unproven callers from one
// address a minute the audit log takes; more are refused unwritten.
const RefusalsAudited = 20

// audited reports whether a refusal of an unproven caller at machine
// is written to the audit log.
func (s *Server) audited(machine string) bool {
	s.refusalMu.Lock()
	defer s.refusalMu.Unlock()
	if now := time.Now().Truncate(time.Minute); !now.Equal(s.minute) {
		s.minute, s.refusals = now, map[string]int{}
	}
	s.refusals[machine]++
	return s.refusals[machine] <= RefusalsAudited
}

// New returns the API over c, its callers proven by v.
func New(c *core.Core, v *auth.Verifier) *Server {
	s := &Server{core: c, auth: v, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	s.routes = append(s.routes, "GET /v1/openapi.json")
	s.routeAll()
	return s
}

//go:embed openapi.json
var openAPI []byte

// SetSealing makes id the identity clients seal the mails they keep, until
// the gateway takes them, to (GET /v1/sealing-certificate), and opens
// sealed submits with it or with one of before, the identities it
// replaced: what a PC sealed to those still opens.
func (s *Server) SetSealing(id *smime.Identity, before ...*smime.Identity) {
	if id == nil {
		s.sealing.Store(nil)
		return
	}
	ids := append([]*smime.Identity{id}, before...)
	s.sealing.Store(&ids)
}

// sealingIDs are the sealing identities, the one to seal to first; nil
// when the gateway has none.
func (s *Server) sealingIDs() []*smime.Identity {
	if ids := s.sealing.Load(); ids != nil {
		return *ids
	}
	return nil
}

// TLSConfig is the server's TLS: cert, and the CAs whose client
// certificates machines may present (nil: tokens only). A client
// certificate is verified when given; a token is asked otherwise.
func TLSConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		cfg.ClientCAs, cfg.ClientAuth = clientCAs, tls.VerifyClientCertIfGiven
	}
	return cfg
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.TLS == nil {
		// Served only over TLS: no token crosses the network in the clear.
		s.fail(w, r, http.StatusUpgradeRequired, &Error{Reason: NeedsTLS})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// handler serves one call as the caller, c.
type handler func(w http.ResponseWriter, r *http.Request, c *core.Core) error

// route serves pattern to proven callers; helpdesk doors only to those
// with the role.
func (s *Server) route(pattern string, helpdesk bool, h handler) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		machine, _, _ := net.SplitHostPort(r.RemoteAddr)
		id, err := s.identify(r)
		if err != nil {
			if s.audited(machine) {
				s.core.Refused(r.Context(), policy.Actor{Machine: machine}, pattern, code(err))
			}
			s.fail(w, r, http.StatusUnauthorized, err)
			return
		}
		c := s.core.As(policy.Actor{User: id.User, Machine: machine, Helpdesk: id.Helpdesk}, id.Name)
		if helpdesk {
			ok, err := c.IsHelpdesk(r.Context())
			if err != nil {
				s.fail(w, r, status(err), err)
				return
			}
			if !ok {
				err = &policy.Error{Reason: policy.NotHelpdesk, User: id.User}
				s.core.Refused(r.Context(), c.Actor(), pattern, code(err))
				s.fail(w, r, http.StatusForbidden, err)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.fail(w, r, status(err), err)
		}
	})
}

// identify proves the caller: a verified client certificate, else the
// bearer token.
func (s *Server) identify(r *http.Request) (*auth.Identity, error) {
	if certs := r.TLS.VerifiedChains; len(certs) > 0 {
		return s.auth.Certificate(certs[0][0])
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = ""
	}
	return s.auth.Token(r.Context(), strings.TrimSpace(token))
}

// lang is the caller's language: English when Accept-Language prefers
// it, else Danish.
func lang(r *http.Request) i18n.Lang {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "da"):
			return i18n.Danish
		case strings.HasPrefix(tag, "en"):
			return i18n.English
		}
	}
	return i18n.Danish
}

// ErrorBody is what every refusal answers.
type ErrorBody struct {
	Error ErrorView `json:"error"`
}

// ErrorView is an error as the API tells it: Code is stable (the key of
// its sentence), Args the values the sentence names, Message the
// sentence in the caller's language.
type ErrorView struct {
	Code    string         `json:"code"`
	Args    map[string]any `json:"args,omitempty"`
	Message string         `json:"message"`
}

func errorView(l i18n.Lang, err error) ErrorView {
	var loc i18n.Localizer
	if !errors.As(err, &loc) {
		err = &Error{Reason: Internal}
		errors.As(err, &loc)
	}
	m := loc.Localize()
	return ErrorView{Code: m.Key, Args: m.Args, Message: l.Error(err)}
}

func code(err error) string { return errorView(i18n.Danish, err).Code }

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, ErrorBody{errorView(lang(r), err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readJSON reads a request body of at most 1 MiB into v.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Reason: BadRequest, Detail: err.Error()}
	}
	return nil
}

// Run is the gateway at work until ctx ends: the core's outbox worker,
// and the API on l.
func (s *Server) Run(ctx context.Context, l net.Listener, tlsConfig *tls.Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	worker := make(chan error, 1)
	go func() { worker <- s.core.Run(ctx) }()
	err := s.Serve(ctx, l, tlsConfig)
	cancel()
	<-worker
	return err
}

// Serve serves the API on l with tlsConfig until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener, tlsConfig *tls.Config) error {
	srv := &http.Server{Handler: s, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err := srv.ServeTLS(l, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return ctx.Err()
	}
	return err
}
