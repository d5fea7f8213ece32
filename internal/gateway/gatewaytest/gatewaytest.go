// Package gatewaytest runs the demo's gateway for the tests of its
// clients (the CLI, the GUI): served over TLS on loopback, its outbox
// worker running, until the test ends. Only tests import it.
package gatewaytest

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"sikkermail/internal/config"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway"
)

// Gateway is the demo's gateway, running; URL is where it answers.
type Gateway struct {
	*demo.Gateway
	URL string
}

// Start runs it for the test.
func Start(t testing.TB) *Gateway {
	t.Helper()
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "gateway.db")
	g, err := demo.StartGateway(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	v, err := g.Verifier(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.New(g.Core.Core, v)
	srv.SetSealing(g.Sealing)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- srv.Run(ctx, l, g.ServerTLS()) }()
	t.Cleanup(func() { cancel(); <-served })
	return &Gateway{Gateway: g, URL: "https://" + l.Addr().String()}
}
