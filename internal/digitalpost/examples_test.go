package digitalpost

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sikkermail/internal/i18n"
)

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "api", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Each example body of the published API parses to the verdict it
// stands for: receipts by their receiptStatus (201 RECEIVED accepted,
// COMPLETED delivered, INVALID and NOT_ALLOWED refused with the
// service's words, numbers hidden), contacts by the public registration
// status and its reason, the organisation's name, a contact point's
// limits, a 400's ErrorMessage.
func TestAPIExamples(t *testing.T) {
	memo := []byte("<Message/>")
	uuidOf := func(name string) string {
		var r Receipt
		if err := json.Unmarshal(example(t, name), &r); err != nil {
			t.Fatal(err)
		}
		return r.MessageUUID
	}
	for _, tc := range []struct {
		file, status string
		code         int
		accepted     bool
		words        []string
	}{
		{"receipt-received.json", StatusReceived, 201, true, nil},
		{"receipt-completed.json", StatusCompleted, 201, true, nil},
		{"receipt-invalid.json", StatusInvalid, 201, false, []string{"MeMo-formatet", "missing child element"}},
		{"receipt-not-allowed.json", StatusNotAllowed, 201, false, []string{"tillader ikke", "is exempt from Digital Post"}},
	} {
		r, err := parseReceipt("dp", "010190-xxxx", uuidOf(tc.file), tc.code, example(t, tc.file), memo)
		if tc.accepted != (err == nil) || tc.accepted && r.ReceiptStatus != tc.status {
			t.Errorf("%s: %+v, %v", tc.file, r, err)
			continue
		}
		if tc.accepted {
			if r.TransmissionID == "" || r.Time().IsZero() {
				t.Errorf("%s: transmission %q, time %v", tc.file, r.TransmissionID, r.Time())
			}
			continue
		}
		var rej *RejectedError
		if !errors.As(err, &rej) || rej.Status != tc.status || rej.Code == "" {
			t.Errorf("%s: %#v", tc.file, err)
			continue
		}
		s := i18n.Danish.Error(err)
		for _, w := range tc.words {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %q lacks %q", tc.file, s, w)
			}
		}
		if strings.Contains(s, "0202801005") {
			t.Errorf("%s: the CPR number is shown: %q", tc.file, s)
		}
	}
	// A 400 is a refusal in the ErrorMessage's words; 401, 403 the
	// system's access, 503 a retry.
	_, err := parseReceipt("dp", "12345100", "x", 400, example(t, "error-400.json"), memo)
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.Code != "VALIDATION_ERROR" || !strings.Contains(rej.Detail, "memo-message-uuid: must equal") {
		t.Errorf("400: %#v", err)
	}
	for _, code := range []int{401, 403} {
		_, err := parseReceipt("dp", "12345100", "x", code, nil, memo)
		var acc *AccessError
		if !errors.As(err, &acc) || !strings.Contains(i18n.Danish.Error(err), "system_key") {
			t.Errorf("%d: %v", code, err)
		}
	}
	_, err = parseReceipt("dp", "12345100", "x", 503, example(t, "receipt-not-allowed.json"), memo)
	var un *UnavailableError
	if !errors.As(err, &un) {
		t.Errorf("503 with a receipt body: %v", err)
	}

	for _, tc := range []struct {
		file         string
		kind         Kind
		number       string
		status       Status
		registration string
		sentence     string
	}{
		{"contacts-registered-citizen.json", CPR, "0101901009", Registered, "AUTOMATIC_REGISTRATION", ""},
		{"contacts-exempt-citizen.json", CPR, "0202801005", Exempt, "EXEMPT_OTHER_REASON", "er fritaget for Digital Post"},
		{"contacts-registered-company.json", CVR, "12345100", Registered, "AUTOMATIC_REGISTRATION", ""},
		{"contacts-empty.json", CPR, "0404601008", Unknown, "", "er ikke tilmeldt"},
		{"contacts-registered-citizen.json", CVR, "0101901009", Unknown, "", "er ikke tilmeldt"}, // a CPR asked as CVR
	} {
		c, err := parseContacts("dp", tc.number, tc.kind, tc.number, example(t, tc.file))
		if err != nil || c.Status != tc.status || c.Registration != tc.registration || c.Name != "" {
			t.Errorf("%s as %s: %+v, %v", tc.file, tc.kind, c, err)
		}
		if tc.sentence != "" {
			s := i18n.Danish.Error(&NotRegisteredError{Recipient: tc.number, Status: c.Status, Registration: c.Registration})
			if !strings.Contains(s, tc.sentence) {
				t.Errorf("%s: %q", tc.file, s)
			}
		}
	}

	var ids struct {
		Content []string `json:"content"`
	}
	if err := json.Unmarshal(example(t, "receipts-list.json"), &ids); err != nil || len(ids.Content) != 2 {
		t.Errorf("receipts list: %v %v", ids, err)
	}
}

// Every registration status the reference names has its own sentence.
func TestRegistrationSentences(t *testing.T) {
	seen := map[string]string{}
	for _, tc := range []struct {
		status       Status
		registration string
	}{
		{Exempt, "EXEMPT_OTHER_REASON"}, {Exempt, "EXEMPT_LEFT_THE_COUNTRY"}, {Closed, ""}, {Unknown, ""},
		{Unknown, "UNCONFIRMED_REGISTRATION"}, {Unknown, "BEFORE_UNCONFIRMED_REGISTRATION"}, {Unknown, "CREATED_AWAITING_REGISTRATION"},
	} {
		for _, l := range []i18n.Lang{i18n.Danish, i18n.English} {
			s := l.Error(&NotRegisteredError{Recipient: "010190-1009", Status: tc.status, Registration: tc.registration})
			if !strings.Contains(s, "010190-1009") || strings.Contains(s, "digitalpost.") {
				t.Errorf("%s %s in %s: %q", tc.status, tc.registration, l, s)
			}
			seen[string(l)+s] = tc.registration
		}
	}
	if len(seen) < 2*5 {
		t.Errorf("%d sentences for the statuses, want 5 different ones in each language", len(seen)/2)
	}
}
