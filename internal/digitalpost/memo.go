// Package digitalpost delivers secure mail to CPR and CVR numbers through
// Digital Post, the Danish public sector's mailbox for citizens (read in
// e-Boks or borger.dk) and companies (Virk): the MeMo 1.1 message the
// service takes, and a client for its sender-system REST API — the
// contacts lookup that tells whether a number can receive, and the memos
// endpoint that delivers.
package digitalpost

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespace is MeMo's XML namespace.
const Namespace = "https://DigitalPost.dk/MeMo-1"

// Kind says who a recipient is: a person by CPR number, a company by CVR.
type Kind string

// The kinds of recipient, as MeMo and the contacts API name them.
const (
	CPR Kind = "CPR"
	CVR Kind = "CVR"
)

// Attention routes a message to someone inside a company (CVR recipients
// only): a person, a production unit (P-nummer), a unit's name.
type Attention struct {
	Person  string
	PNumber string
	Unit    string
}

// IsZero reports whether no attention data is given.
func (a Attention) IsZero() bool { return a == Attention{} }

// File is one document of a message.
type File struct {
	Name string
	// ContentType is the media type; "" means from the name's extension.
	ContentType string
	Data        []byte
}

// Message is one Digital Post letter: Digital Post takes one recipient a
// message.
type Message struct {
	// UUID is the message's identity (version 4); sending the same UUID
	// again never delivers a second letter.
	UUID    string
	Created time.Time
	// Label is the title the recipient sees: the mail's subject.
	Label string
	// SenderCVR and SenderName are the institution's; Mailbox and
	// MailboxName the secure mailbox that sends (the address a reply
	// goes to), and ContactPoint its contact point in Digital Post (the
	// GUID Administrativ Adgang gave it; "" for none).
	SenderCVR, SenderName string
	Mailbox, MailboxName  string
	ContactPoint          string
	// Version is the MeMo version to write; "" is MeMoVersion.
	Version   string
	Recipient Kind
	// Number is the CPR (10 digits) or CVR (8 digits) number.
	Number    string
	Attention Attention
	// Body is the mail's text: the main document, as text/plain.
	Body string
	// Attachments become additional documents.
	Attachments []File
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// MainDocumentName is the file name of the mail's text in a MeMo.
const MainDocumentName = "besked.txt"

// MeMoVersion is the MeMo version written: 1.1, the one in force. 1.2
// (announced, with memo:Representative) follows as a Version of its own
// once Digital Post takes it.
const MeMoVersion = "1.1"

// memoSchemaVersion is the memoSchVersion of MeMoVersion's schemas.
const memoSchemaVersion = "1.1.0"

// Build writes m as a MeMo 1.1 message. It refuses attachments of a type
// Digital Post does not deliver (a *FileTypeError naming the file and the
// allowed types).
func Build(m Message) ([]byte, error) {
	if m.Recipient != CPR && m.Recipient != CVR {
		return nil, fmt.Errorf("digitalpost: recipient kind %q", m.Recipient)
	}
	main, err := file(File{Name: MainDocumentName, ContentType: "text/plain", Data: []byte(m.Body)})
	if err != nil {
		return nil, err
	}
	body := xBody{Created: m.Created.UTC().Format("2006-01-02T15:04:05Z"), Main: xDocument{Files: []xFile{main}}}
	for _, a := range m.Attachments {
		f, err := file(a)
		if err != nil {
			return nil, err
		}
		body.Additional = append(body.Additional, xDocument{Label: text(a.Name), Files: []xFile{f}})
	}
	rcpt := xRecipient{ID: m.Number, IDType: string(m.Recipient)}
	if m.Recipient == CVR && !m.Attention.IsZero() {
		rcpt.Attention = attention(m.Attention)
	}
	if m.Version != "" && m.Version != MeMoVersion {
		return nil, fmt.Errorf("digitalpost: MeMo %s cannot be written yet, only %s", m.Version, MeMoVersion)
	}
	sender := xSender{ID: m.SenderCVR, IDType: "CVR", Label: text(m.SenderName),
		Attention: &xAttention{EMail: &xEMail{Address: text(m.Mailbox), Agent: text(m.MailboxName)}}}
	if m.ContactPoint != "" {
		sender.Contact = &xContact{ID: m.ContactPoint, Label: text(m.MailboxName), Info: []xInfo{{Label: "E-mail", Value: text(m.Mailbox)}}}
	}
	msg := xMessage{Version: MeMoVersion, SchVersion: memoSchemaVersion, Header: xHeader{
		Type: "DIGITALPOST", UUID: m.UUID, Label: text(m.Label), Sender: sender, Recipient: rcpt,
	}, Body: body}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(msg); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func attention(a Attention) *xAttention {
	out := &xAttention{}
	if a.Person != "" || a.Unit != "" && a.PNumber == "" {
		label := a.Person
		if a.PNumber == "" && a.Unit != "" {
			label = strings.Trim(a.Person+", "+a.Unit, ", ")
		}
		out.Person = &xPerson{Label: text(label)}
	}
	if a.PNumber != "" {
		out.Unit = &xUnit{Number: a.PNumber, Name: text(a.Unit)}
	}
	return out
}

// CheckFile refuses a file name of a type Digital Post does not deliver,
// with a *FileTypeError naming the file and the allowed types.
func CheckFile(name string) error {
	if _, ok := allowedType(name); !ok {
		return &FileTypeError{File: name}
	}
	return nil
}

// file checks a document's type and encodes it.
func file(f File) (xFile, error) {
	ct := f.ContentType
	t, ok := allowedType(f.Name)
	if !ok {
		return xFile{}, &FileTypeError{File: f.Name}
	}
	if ct == "" || ct == "application/octet-stream" {
		ct = t
	}
	return xFile{Format: ct, Name: text(f.Name), Language: "da", Content: base64.StdEncoding.EncodeToString(f.Data)}, nil
}

// text fits a user's text into MeMo's text type: at most 256 characters.
func text(s string) string {
	if utf8.RuneCountInString(s) <= 256 {
		return s
	}
	r := []rune(s)
	return string(r[:255]) + "…"
}

// allowedType returns the media type of a file name Digital Post
// delivers.
func allowedType(name string) (string, bool) {
	t, ok := Allowed[strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))]
	return t, ok
}

// Allowed are the file types Digital Post delivers and shows, by
// extension: documents, spreadsheets, presentations, images and text.
// Anything else (programs, archives, mail files) is refused before it is
// sent.
var Allowed = map[string]string{
	"pdf":  "application/pdf",
	"txt":  "text/plain",
	"csv":  "text/csv",
	"html": "text/html",
	"htm":  "text/html",
	"rtf":  "application/rtf",
	"jpg":  "image/jpeg",
	"jpeg": "image/jpeg",
	"png":  "image/png",
	"gif":  "image/gif",
	"tif":  "image/tiff",
	"tiff": "image/tiff",
	"doc":  "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"ppt":  "application/vnd.ms-powerpoint",
	"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odt":  "application/vnd.oasis.opendocument.text",
	"ods":  "application/vnd.oasis.opendocument.spreadsheet",
	"odp":  "application/vnd.oasis.opendocument.presentation",
}

// The MeMo elements we write, in the order the schema wants them.
type xMessage struct {
	XMLName    xml.Name `xml:"https://DigitalPost.dk/MeMo-1 Message"`
	Version    string   `xml:"memoVersion,attr"`
	SchVersion string   `xml:"memoSchVersion,attr"`
	Header     xHeader  `xml:"MessageHeader"`
	Body       xBody    `xml:"MessageBody"`
}

type xHeader struct {
	Type              string     `xml:"messageType"`
	UUID              string     `xml:"messageUUID"`
	Label             string     `xml:"label"`
	Mandatory         bool       `xml:"mandatory"`
	LegalNotification bool       `xml:"legalNotification"`
	Sender            xSender    `xml:"Sender"`
	Recipient         xRecipient `xml:"Recipient"`
}

type xSender struct {
	ID        string      `xml:"senderID"`
	IDType    string      `xml:"idType"`
	Label     string      `xml:"label"`
	Attention *xAttention `xml:"AttentionData,omitempty"`
	Contact   *xContact   `xml:"ContactPoint,omitempty"`
}

type xRecipient struct {
	ID        string      `xml:"recipientID"`
	IDType    string      `xml:"idType"`
	Attention *xAttention `xml:"AttentionData,omitempty"`
	// Contact is the contact point a letter to the institution is for;
	// never written.
	Contact *xContact `xml:"ContactPoint,omitempty"`
}

type xAttention struct {
	Person *xPerson `xml:"AttentionPerson,omitempty"`
	Unit   *xUnit   `xml:"https://data.gov.dk/model/core/ ProductionUnit,omitempty"`
	EMail  *xEMail  `xml:"EMail,omitempty"`
}

type xEMail struct {
	Address string `xml:"emailAddress"`
	Agent   string `xml:"relatedAgent,omitempty"`
}

type xPerson struct {
	Label string `xml:"label,omitempty"`
}

type xUnit struct {
	Number string `xml:"https://data.gov.dk/model/core/ productionUnitNumber"`
	Name   string `xml:"https://data.gov.dk/model/core/ productionUnitName,omitempty"`
}

type xContact struct {
	ID    string  `xml:"contactPointID"`
	Label string  `xml:"label,omitempty"`
	Info  []xInfo `xml:"ContactInfo"`
}

type xInfo struct {
	Label string `xml:"label"`
	Value string `xml:"value"`
}

type xBody struct {
	Created    string      `xml:"createdDateTime"`
	Main       xDocument   `xml:"MainDocument"`
	Additional []xDocument `xml:"AdditionalDocument"`
}

type xDocument struct {
	Label string  `xml:"label,omitempty"`
	Files []xFile `xml:"File"`
}

type xFile struct {
	Format   string `xml:"encodingFormat"`
	Name     string `xml:"filename"`
	Language string `xml:"language"`
	Content  string `xml:"content"`
}

// Parse reads a MeMo message back: the header fields Build writes and
// every document. It is how the simulator reads what it receives.
func Parse(memo []byte) (*Message, error) {
	var x xMessage
	if err := xml.Unmarshal(memo, &x); err != nil {
		return nil, fmt.Errorf("digitalpost: not a MeMo message: %w", err)
	}
	h := x.Header
	m := &Message{UUID: h.UUID, Label: h.Label, SenderCVR: h.Sender.ID, SenderName: h.Sender.Label,
		Recipient: Kind(h.Recipient.IDType), Number: h.Recipient.ID, Version: x.Version}
	if a := h.Sender.Attention; a != nil && a.EMail != nil {
		m.Mailbox, m.MailboxName = a.EMail.Address, a.EMail.Agent
	}
	if c := h.Sender.Contact; c != nil {
		m.ContactPoint = c.ID
	}
	if a := h.Recipient.Attention; a != nil {
		if a.Person != nil {
			m.Attention.Person = a.Person.Label
		}
		if a.Unit != nil {
			m.Attention.PNumber, m.Attention.Unit = a.Unit.Number, a.Unit.Name
		}
	}
	var err error
	if m.Created, err = time.Parse(time.RFC3339, x.Body.Created); err != nil {
		return nil, fmt.Errorf("digitalpost: createdDateTime: %w", err)
	}
	if len(x.Body.Main.Files) == 0 {
		return nil, errors.New("digitalpost: no main document")
	}
	decode := func(f xFile) (File, error) {
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(f.Content), ""))
		return File{Name: f.Name, ContentType: f.Format, Data: data}, err
	}
	main, err := decode(x.Body.Main.Files[0])
	if err != nil {
		return nil, fmt.Errorf("digitalpost: main document: %w", err)
	}
	m.Body = string(main.Data)
	for _, d := range x.Body.Additional {
		for _, f := range d.Files {
			a, err := decode(f)
			if err != nil {
				return nil, fmt.Errorf("digitalpost: %s: %w", f.Name, err)
			}
			m.Attachments = append(m.Attachments, a)
		}
	}
	return m, nil
}

// Letter is a letter sent to the institution through Digital Post (a
// citizen writing from their own, or a company): who sent it, to which
// of the institution's contact points, and its documents.
type Letter struct {
	UUID, Label string
	Created     time.Time
	// Sender is the sender's number, SenderKind CPR or CVR, SenderName
	// the name the letter gives.
	Sender     string
	SenderKind Kind
	SenderName string
	// ContactPoint is the recipient contact point's id: which secure
	// mailbox the letter is for.
	ContactPoint string
	// Documents are the main document first, then the additional ones.
	Documents []File
}

// maxDocuments bounds the documents taken from one letter.
const maxDocuments = 100

// ParseLetter reads a letter fetched from the institution's inbox at
// the service. It is outside input: anything that is not a MeMo with a
// sender, a main document and documents that decode is an error.
func ParseLetter(memo []byte) (*Letter, error) {
	var x xMessage
	if err := xml.Unmarshal(memo, &x); err != nil {
		return nil, fmt.Errorf("digitalpost: not a MeMo message: %w", err)
	}
	h := x.Header
	l := &Letter{UUID: h.UUID, Label: printable(h.Label), Sender: h.Sender.ID, SenderKind: Kind(strings.ToUpper(h.Sender.IDType)),
		SenderName: printable(h.Sender.Label)}
	if l.Sender == "" || (l.SenderKind != CPR && l.SenderKind != CVR) {
		return nil, fmt.Errorf("digitalpost: a letter from %q (%q)", h.Sender.ID, h.Sender.IDType)
	}
	if c := h.Recipient.Contact; c != nil {
		l.ContactPoint = strings.TrimSpace(c.ID)
	}
	l.Created, _ = time.Parse(time.RFC3339, x.Body.Created)
	if len(x.Body.Main.Files) == 0 {
		return nil, errors.New("digitalpost: no main document")
	}
	docs := append([]xDocument{x.Body.Main}, x.Body.Additional...)
	for _, d := range docs {
		for _, f := range d.Files {
			if len(l.Documents) == maxDocuments {
				return nil, fmt.Errorf("digitalpost: more than %d documents", maxDocuments)
			}
			data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(f.Content), ""))
			if err != nil {
				return nil, fmt.Errorf("digitalpost: %s: %w", f.Name, err)
			}
			name := printable(f.Name)
			if name == "" {
				name = fmt.Sprintf("dokument-%d", len(l.Documents)+1)
			}
			l.Documents = append(l.Documents, File{Name: name, ContentType: printable(f.Format), Data: data})
		}
	}
	return l, nil
}

// printable is s without control characters, at most 256 runes.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 256 {
			break
		}
		if r < 0x20 || r == 0x7f || !utf8.ValidRune(r) || r == utf8.RuneError {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
