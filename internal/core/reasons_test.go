package core

import (
	"strings"
	"testing"

	"sikkermail/internal/i18n"
)

// Every reason the core's errors give has its sentence, in Danish and
// in English.
func TestReasonsHaveSentences(t *testing.T) {
	var keys []string
	for _, r := range SendReasons {
		keys = append(keys, "send."+string(r))
	}
	for _, r := range LimitReasons {
		keys = append(keys, "limit."+string(r))
	}
	for _, r := range SecretReasons {
		keys = append(keys, "secret."+string(r))
	}
	for _, r := range DraftReasons {
		keys = append(keys, "draft."+string(r))
	}
	for _, r := range InboxReasons {
		keys = append(keys, "inbox."+string(r))
	}
	for _, l := range []i18n.Lang{i18n.Danish, i18n.English} {
		for _, k := range keys {
			args := map[string]any{"Recipient": "x@y", "Mailbox": "m@y", "File": "f", "Source": "s", "Size": int64(2 << 20), "Max": int64(1 << 20), "Count": 2, "MessageID": "<x@y>"}
			if s := l.M(i18n.Message{Key: k, Args: args}); s == "" || s == k || strings.Contains(s, k) {
				t.Errorf("%s: no sentence for %s (%q)", l, k, s)
			}
		}
	}
}
