// Command sikkermail-gateway is the institution's secure-mail service:
// it holds the secure mailboxes' keys, the Digital Post certificate, the
// rights, the audit log and the outbox, and does the signing,
// encryption, submission, Sent copies, Digital Post delivery and
// receipts for the staff's clients, who call its HTTPS API as
// themselves (Entra ID access tokens, or client certificates). Several
// instances may share one PostgreSQL database. It builds without cgo.
//
// Usage:
//
//	sikkermail-gateway -config gateway.toml
//	sikkermail-gateway -demo [-listen 127.0.0.1:8443]
//
// -demo runs a complete gateway on the demo environment (its own mail
// servers, Digital Post, Entra ID and certificates; SQLite), and says
// how to call it.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/netutil"

	"sikkermail/internal/auth"
	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/scan"
	"sikkermail/internal/smime"
	"sikkermail/internal/smtpin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "sikkermail-gateway:", i18n.FromEnv().Error(err))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: sikkermail-gateway -config FILE | -demo [-listen ADDRESS]")

// run runs the gateway until ctx ends; ready, when set, is told the
// address it listens on.
func run(ctx context.Context, args []string, out io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("sikkermail-gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "settings file")
	demoFlag := fs.Bool("demo", false, "run a complete gateway on the demo environment")
	listen := fs.String("listen", "", "address to listen on (default: the settings' [server] listen; 127.0.0.1:8443 for the demo)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *demoFlag == (*cfgPath != "") {
		return errUsage
	}
	if *demoFlag {
		return runDemo(ctx, cmp.Or(*listen, "127.0.0.1:8443"), out, ready)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	// The certificate first: without it nothing is opened, nothing
	// migrated.
	tlsConfig, err := serverTLS(cfg.Server)
	if err != nil {
		return err
	}
	c, err := core.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := auth.New(ctx, auth.FromSettings(cfg.Auth, cfg.Policy.Helpdesk))
	if err != nil {
		return err
	}
	srv := gateway.New(c, v)
	if cfg.Server.Sealing != "" {
		id, before, err := sealing(cfg.Server)
		if err != nil {
			return err
		}
		srv.SetSealing(id, before...)
	}
	if cfg.Boundary.Listen != "" || cfg.Boundary.Poll.Duration > 0 {
		var l net.Listener
		if cfg.Boundary.Listen != "" {
			if l, err = net.Listen("tcp", cfg.Boundary.Listen); err != nil {
				return err
			}
		}
		_, stop, err := startBoundary(ctx, c, tlsConfig, l)
		if err != nil {
			if l != nil {
				l.Close()
			}
			return err
		}
		defer stop()
	}
	return serve(ctx, srv, tlsConfig, cmp.Or(*listen, cfg.Server.Listen, ":8443"), ready)
}

// maxSMTPSessions bounds the listener's sessions at once.
const maxSMTPSessions = 32

// startBoundary starts the inbound side: the queue's worker, the SMTP
// listener on l (nil: none), with the gateway's certificate, the poller
// of the mailboxes' INBOX when [boundary] poll is set, and the fetching
// of the letters sent to the contact points when Digital Post is set up
// (as often, or every minute). stop ends them and waits for them.
func startBoundary(ctx context.Context, c *core.Core, tlsConfig *tls.Config, l net.Listener) (_ *core.Boundary, stop func(), err error) {
	cfg := c.Config().Boundary
	if cfg.Scanner == "" {
		return nil, nil, &gateway.Error{Reason: gateway.ServerSettings, Detail: "[boundary] scanner"}
	}
	scanner, err := scan.Parse(cfg.Scanner)
	if err != nil {
		return nil, nil, err
	}
	var spam core.SpamChecker
	switch cfg.Spam {
	case "":
		return nil, nil, &gateway.Error{Reason: gateway.ServerSettings, Detail: "[boundary] spam"}
	case "none":
	default:
		if spam, err = scan.ParseSpamd(cfg.Spam); err != nil {
			return nil, nil, err
		}
	}
	b, err := c.OpenBoundary(ctx, scanner, spam)
	if err != nil {
		return nil, nil, err
	}
	known := func(ctx context.Context, address string) bool {
		m, err := c.Mailbox(ctx, address)
		return err == nil && m.Identity != ""
	}
	smtpd := smtpin.New(serverName(tlsConfig), b, known, c.Limits().Email)
	smtpd.TLSConfig = tlsConfig
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { b.Run(ctx) })
	if l != nil {
		// Each session may hold a mail of the largest size in memory:
		// so many at once, the rest wait to be taken.
		wg.Go(func() { smtpd.Serve(netutil.LimitListener(l, maxSMTPSessions)) })
	}
	letters := c.Config().DigitalPost.URL != ""
	if cfg.Poll.Duration > 0 || letters {
		wg.Go(func() {
			tick := time.NewTicker(cmp.Or(cfg.Poll.Duration, time.Minute))
			defer tick.Stop()
			for {
				if cfg.Poll.Duration > 0 {
					if _, err := b.Poll(ctx); err != nil && ctx.Err() == nil {
						log.Printf("sikkermail-gateway: taking the secure mailboxes' mail from their INBOX: %v", err)
					}
				}
				if letters {
					if _, err := b.FetchLetters(ctx); err != nil && ctx.Err() == nil {
						log.Printf("sikkermail-gateway: fetching the letters sent to the contact points: %v", err)
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	return b, func() {
		cancel()
		smtpd.Close()
		wg.Wait()
	}, nil
}

// sealing opens the sealing identity the settings name, and those it
// replaced.
func sealing(s config.Server) (*smime.Identity, []*smime.Identity, error) {
	id, err := keystore.Open(s.Sealing, s.SealingPassword)
	if err != nil {
		return nil, nil, err
	}
	var before []*smime.Identity
	for _, b := range s.SealedBefore {
		old, err := keystore.Open(b.Identity, b.Password)
		if err != nil {
			return nil, nil, err
		}
		before = append(before, old)
	}
	return id, before, nil
}

// serverName is the name the gateway's certificate is for, else the
// host's: what its SMTP listener greets with.
func serverName(tlsConfig *tls.Config) string {
	if len(tlsConfig.Certificates) > 0 {
		if leaf, err := x509.ParseCertificate(tlsConfig.Certificates[0].Certificate[0]); err == nil && len(leaf.DNSNames) > 0 {
			return leaf.DNSNames[0]
		}
	}
	host, _ := os.Hostname()
	return cmp.Or(host, "localhost")
}

// serverTLS reads the gateway's certificate, and the CA of the client
// certificates it takes, if any.
func serverTLS(s config.Server) (*tls.Config, error) {
	if s.Certificate == "" || s.Key == "" {
		return nil, &gateway.Error{Reason: gateway.ServerSettings, Detail: "[server] certificate, key"}
	}
	cert, err := tls.LoadX509KeyPair(s.Certificate, s.Key)
	if err != nil {
		return nil, err
	}
	var pool *x509.CertPool
	if s.ClientCA != "" {
		b, err := os.ReadFile(s.ClientCA)
		if err != nil {
			return nil, err
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no certificate", s.ClientCA)
		}
	}
	return gateway.TLSConfig(cert, pool), nil
}

// serve runs the gateway on addr until ctx ends.
func serve(ctx context.Context, srv *gateway.Server, tlsConfig *tls.Config, addr string, ready func(string)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(l.Addr().String())
	}
	return srv.Run(ctx, l, tlsConfig)
}

// runDemo runs the gateway on the demo environment, and writes how to
// call it: the address, the CA to trust, and a header file with a
// sign-in's token for each of the demo's people.
func runDemo(ctx context.Context, addr string, out io.Writer, ready func(string)) error {
	cfg := config.Demo()
	dir, err := config.DefaultDir()
	if err != nil {
		return err
	}
	cfg.Database = filepath.Join(dir, "gateway-demo.db")
	g, err := demo.StartGateway(cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	v, err := g.Verifier(ctx, cfg.Policy.Helpdesk)
	if err != nil {
		return err
	}
	l := i18n.FromEnv()
	srv := gateway.New(g.Core.Core, v)
	srv.SetSealing(g.Sealing)
	return serve(ctx, srv, g.ServerTLS(), addr, func(at string) {
		url := "https://" + at
		fmt.Fprintln(out, l.T("gateway.demo.ready", map[string]any{"URL": url, "CA": g.TLS.CAFile}))
		for _, u := range config.DemoUsers {
			token, err := g.Token(u.Address)
			if err != nil {
				continue
			}
			header := filepath.Join(filepath.Dir(g.TLS.CAFile), u.Role+".header")
			if err := os.WriteFile(header, []byte("Authorization: Bearer "+token+"\n"), 0o600); err != nil {
				continue
			}
			path := "/v1/me"
			if u.Role == "helpdesk" {
				path = "/v1/holders"
			}
			fmt.Fprintf(out, "  %s (%s):\n    curl --cacert %s -H @%s %s%s\n", u.Name, u.Address, g.TLS.CAFile, header, url, path)
		}
		if ready != nil {
			ready(at)
		}
	})
}
