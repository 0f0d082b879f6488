package mailsink

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// maxPartDepth stops a hostile message from recursing without end.
const maxPartDepth = 8

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// parseEmail turns raw RFC 5322 bytes into a Message. A message it cannot
// parse is still kept, with the raw bytes as Text and the reason in the
// X-Mailsink-Parse-Error header, so nothing sent disappears silently.
func parseEmail(raw []byte) Message {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{Text: string(raw), Headers: map[string]string{"X-Mailsink-Parse-Error": err.Error()}}
	}
	m := Message{Headers: make(map[string]string, len(msg.Header))}
	for k, vs := range msg.Header {
		if len(vs) > 0 {
			m.Headers[textproto.CanonicalMIMEHeaderKey(k)] = decodeHeader(vs[0])
		}
	}
	m.Subject = m.Headers["Subject"]
	m.From = m.Headers["From"]
	if d, err := msg.Header.Date(); err == nil {
		m.Date = d.UTC()
	}
	if err := walkPart(&m, textproto.MIMEHeader(msg.Header), msg.Body, 0); err != nil {
		m.Headers["X-Mailsink-Parse-Error"] = err.Error()
		if m.Text == "" && m.HTML == "" {
			m.Text = string(raw)
		}
	}
	return m
}

// walkPart takes the first text/plain and the first text/html that are not
// attachments, descending into multipart/* bodies.
func walkPart(m *Message, h textproto.MIMEHeader, body io.Reader, depth int) error {
	if depth > maxPartDepth {
		return fmt.Errorf("multipart nested deeper than %d", maxPartDepth)
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content-type: %w", err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // raw: we decode transfer encodings ourselves
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walkPart(m, p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return nil
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	if (mediaType == "text/plain" && m.Text != "") || (mediaType == "text/html" && m.HTML != "") {
		return nil
	}
	text, err := decodeBody(body, h.Get("Content-Transfer-Encoding"), params["charset"])
	if err != nil {
		return err
	}
	if mediaType == "text/plain" {
		m.Text = text
	} else {
		m.HTML = text
	}
	return nil
}

func decodeBody(body io.Reader, cte, charset string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return "", fmt.Errorf("body (%s): %w", cte, err)
	}
	s := toUTF8(b, charset)
	return strings.ReplaceAll(s, "\r\n", "\n"), nil
}

// toUTF8 handles the charsets real senders use for these messages: UTF-8
// and US-ASCII as they are, Latin-1 by code point. Anything else is read as UTF-8,
// with invalid bytes replaced, so the JSON stays valid.
func toUTF8(b []byte, charset string) string {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "iso_8859-1":
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String()
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(toUTF8(b, charset)), nil
}

func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}
