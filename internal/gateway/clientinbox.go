package gateway

import (
	"context"
	"fmt"
	"net/url"

	"sikkermail/internal/core"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailstore"
)

// The secure inboxes through the gateway (/v1/inbox): the gateway opens
// each message; the PC shows what it says.

func inboxPath(mailbox string, uid uint32, rest string) string {
	p := "/v1/inbox/" + url.PathEscape(mailbox)
	if uid != 0 {
		p += fmt.Sprintf("/%d", uid)
	}
	return p + rest
}

// InboxList lists a secure mailbox's inbox, newest first.
func (c *Client) InboxList(ctx context.Context, mailbox string) ([]core.InboxMessage, error) {
	var views []InboxItemView
	if err := c.do(ctx, "GET", inboxPath(mailbox, 0, ""), nil, "", &views); err != nil {
		return nil, err
	}
	var out []core.InboxMessage
	for _, v := range views {
		out = append(out, core.InboxMessage{Summary: mailstore.Summary{UID: v.UID, From: v.From, FromName: v.FromName, Subject: v.Subject,
			Date: v.Date, Size: v.Size, Flags: v.Flags}, Badge: core.Badge(v.Badge), Handled: v.Handled})
	}
	return out, nil
}

// InboxOpen opens a message, as the gateway opened it.
func (c *Client) InboxOpen(ctx context.Context, mailbox string, uid uint32) (*core.OpenedMail, error) {
	var v OpenedView
	if err := c.do(ctx, "GET", inboxPath(mailbox, uid, ""), nil, "", &v); err != nil {
		return nil, err
	}
	return openedMail(v), nil
}

// MarkHandled marks a message dealt with, or not, for every reader.
func (c *Client) MarkHandled(ctx context.Context, mailbox string, uid uint32, handled bool) error {
	return c.do(ctx, "PUT", inboxPath(mailbox, uid, "/handled"), HandledRequest{Handled: handled}, "", nil)
}

// HandledMark says how a handled message is marked: as the gateway's
// mail server keeps it, which the PC does not see.
func (c *Client) HandledMark() i18n.Message {
	return i18n.Message{Key: "inbox.handled_by.keyword", Args: map[string]any{"Keyword": core.FallbackHandledFlag}}
}

// Forward sends an opened message on inside the institution, from the
// gateway.
func (c *Client) Forward(ctx context.Context, m *core.OpenedMail, to []string, note string) (*core.Queued, error) {
	var s Submitted
	if err := c.do(ctx, "POST", inboxPath(m.Mailbox, m.UID, "/forward"), ForwardRequest{To: to, Note: note}, "", &s); err != nil {
		return nil, err
	}
	return &core.Queued{ID: s.ID, MessageID: s.MessageID}, nil
}

// Reply is what a secure reply to the message starts from.
func (c *Client) Reply(ctx context.Context, m *core.OpenedMail) (*core.Reply, error) {
	var v ReplyView
	if err := c.do(ctx, "GET", inboxPath(m.Mailbox, m.UID, "/reply"), nil, "", &v); err != nil {
		return nil, err
	}
	r := &core.Reply{Mailbox: v.Mailbox, To: v.To}
	r.Draft.Subject, r.Draft.Body = v.Subject, v.Body
	return r, nil
}
