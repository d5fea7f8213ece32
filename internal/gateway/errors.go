package gateway

import (
	"errors"
	"io/fs"
	"net/http"

	"sikkermail/internal/auth"
	"sikkermail/internal/core"
	"sikkermail/internal/i18n"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
)

// Reason says why the gateway refused a call of its own accord.
type Reason string

// The reasons.
const (
	NeedsTLS   Reason = "needs_tls"
	BadRequest Reason = "bad_request"
	NotFound   Reason = "not_found"
	TooLarge   Reason = "too_large"
	Internal   Reason = "internal"
	// NotInGatewayMode: what a gateway's client does not do (yet).
	NotInGatewayMode Reason = "not_in_gateway_mode"
	// NotKept: the gateway was never reached, so a mail cannot be kept
	// sealed to it.
	NotKept Reason = "not_kept"
	// DraftNotKept: the same for a draft.
	DraftNotKept Reason = "draft_not_kept"
	// SealedForOther: what a PC kept was sealed to a sealing certificate
	// the gateway no longer has.
	SealedForOther Reason = "sealed_for_other"
	// Settings: the client's settings for the gateway lack a key.
	Settings Reason = "settings"
	// ServerSettings: the gateway's own settings lack a key.
	ServerSettings Reason = "server_settings"
)

// Reasons are every Reason, for the tests of their sentences.
var Reasons = []Reason{NeedsTLS, BadRequest, NotFound, TooLarge, Internal, NotInGatewayMode, NotKept, DraftNotKept, SealedForOther, Settings, ServerSettings}

// Error is a call the gateway refused.
type Error struct {
	Reason Reason
	Detail string
	// Size and Max are a body's size (0: not known before it was cut
	// off) and the largest taken.
	Size, Max int64
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return "gateway: " + string(e.Reason) + ": " + e.Detail
	}
	return "gateway: " + string(e.Reason)
}

// Localize names the sentence for the caller.
func (e *Error) Localize() i18n.Message {
	if e.Reason == NotInGatewayMode {
		return i18n.Message{Key: "gateway." + string(e.Reason) + "." + e.Detail}
	}
	return i18n.Message{Key: "gateway." + string(e.Reason), Args: map[string]any{"Detail": e.Detail, "Size": e.Size, "Max": e.Max}}
}

// status is the HTTP status of a refusal.
func status(err error) int {
	var ae *auth.Error
	var pe *policy.Error
	var ge *Error
	var nf *outbox.NotFoundError
	var de *core.DraftError
	var se *outbox.SendingError
	switch {
	case errors.As(err, &ae):
		return http.StatusUnauthorized
	case errors.As(err, &pe):
		switch pe.Reason {
		case policy.NotHelpdesk, policy.NoRight:
			return http.StatusForbidden
		case policy.UnknownMailbox:
			return http.StatusNotFound
		case policy.AlreadyGranted, policy.NotGranted:
			return http.StatusConflict
		}
		return http.StatusBadRequest
	case errors.As(err, &nf), errors.As(err, &de) && errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.As(err, &se):
		return http.StatusConflict
	case errors.As(err, &ge):
		switch ge.Reason {
		case BadRequest:
			return http.StatusBadRequest
		case NotFound:
			return http.StatusNotFound
		case NeedsTLS:
			return http.StatusUpgradeRequired
		case TooLarge:
			return http.StatusRequestEntityTooLarge
		case Internal:
			return http.StatusInternalServerError
		}
	}
	var loc i18n.Localizer
	if errors.As(err, &loc) {
		// The core's own refusals (a red recipient, a limit, a file): the
		// request was understood, and cannot be done as it is.
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}
