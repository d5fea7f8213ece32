// Package core is the one facade the front-ends (the Fyne GUI and the CLI)
// call: Check now, and Send, Outbox, Inbox and Rights as they arrive. It
// never imports Fyne, and the front-ends never reach past it.
package core

import (
	"context"

	"sikkermail/internal/config"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/recipient"
)

// Core holds one configured client.
type Core struct {
	cfg    *config.Config
	parser recipient.Parser
	dir    *directory.Directory
}

// New returns a Core for cfg.
func New(cfg *config.Config) (*Core, error) {
	internal, err := cfg.InternalDomains()
	if err != nil {
		return nil, err
	}
	return &Core{cfg: cfg, parser: recipient.Parser{Internal: internal}, dir: &directory.Directory{}}, nil
}

// Config returns the configuration the core runs with.
func (c *Core) Config() *config.Config { return c.cfg }

// Lang returns the configured user interface language.
func (c *Core) Lang() i18n.Lang { return c.cfg.Lang() }

// Check parses each input and asks the directory whether it can receive
// securely. It returns one verdict per input, in order; an input that does
// not parse is red with the parser's reason.
func (c *Core) Check(ctx context.Context, inputs []string) []directory.Verdict {
	out := make([]directory.Verdict, len(inputs))
	for i, in := range inputs {
		r, err := c.parser.Parse(in)
		if err != nil {
			out[i] = directory.Verdict{Input: in, Err: err}
			continue
		}
		out[i] = c.dir.Check(ctx, r)
	}
	return out
}
