// Package frontend opens the core the GUI and the CLI talk to, as the
// settings say: the institution's gateway ([gateway] url: the PC holds
// no key), the built-in demo, the core on this PC, or, with the
// gateway's own settings on its host, the core on the institution's
// database as the host's operator (core.OnHost).
package frontend

import (
	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway"
)

// Open opens the core for cfg.
func Open(cfg *config.Config) (core.API, error) {
	if cfg.Gateway.URL != "" {
		c, err := gateway.Dial(cfg, gateway.ClientOptions{})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	if cfg.Store.URL != "" && !cfg.Demo {
		// The gateway's settings, on its host.
		c, err := core.New(cfg)
		if err != nil {
			return nil, err
		}
		c.OnHost()
		return c, nil
	}
	return demo.Open(cfg)
}
