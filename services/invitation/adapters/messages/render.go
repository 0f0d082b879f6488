package messages

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// blockKind is one element of an email body.
type blockKind string

const (
	blockPara    blockKind = "p"       // Text
	blockHeading blockKind = "heading" // Text
	blockSteps   blockKind = "steps"   // Items, numbered
	blockBullets blockKind = "bullets" // Items
	blockButton  blockKind = "button"  // Text is the label, URL the target, Items[0] the plain-text line before the URL
	blockLink    blockKind = "link"    // Text introduces URL (HTML only: the button's fallback)
	blockCode    blockKind = "code"    // Text is the code
	blockFooter  blockKind = "footer"  // Text
)

type block struct {
	Kind  blockKind
	Text  string
	Items []string
	URL   string
}

type body struct {
	Lang    string
	Subject string
	Blocks  []block
}

// htmlTmpl renders every email. html/template escapes all values, table text
// included, and checks the href (only http and https pass validation anyway).
var htmlTmpl = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2328;">
{{- range .Blocks}}
{{- if eq .Kind "p"}}
<p style="margin:0 0 16px;">{{.Text}}</p>
{{- else if eq .Kind "heading"}}
<p style="margin:24px 0 8px;font-weight:bold;">{{.Text}}</p>
{{- else if eq .Kind "steps"}}
<ol style="margin:0 0 16px;padding-left:24px;">{{range .Items}}<li style="margin:0 0 6px;">{{.}}</li>{{end}}</ol>
{{- else if eq .Kind "bullets"}}
<ul style="margin:0 0 16px;padding-left:24px;">{{range .Items}}<li style="margin:0 0 6px;">{{.}}</li>{{end}}</ul>
{{- else if eq .Kind "button"}}
<p style="margin:24px 0;"><a href="{{.URL}}" style="display:inline-block;padding:12px 24px;background:#1a56db;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">{{.Text}}</a></p>
{{- else if eq .Kind "link"}}
<p style="margin:0 0 16px;font-size:13px;color:#57606a;">{{.Text}}<br><a href="{{.URL}}" style="color:#1a56db;word-break:break-all;">{{.URL}}</a></p>
{{- else if eq .Kind "code"}}
<p style="margin:16px 0;font-family:'Courier New',Courier,monospace;font-size:28px;font-weight:bold;letter-spacing:6px;">{{.Text}}</p>
{{- else if eq .Kind "footer"}}
<p style="margin:32px 0 0;font-size:12px;color:#57606a;">{{.Text}}</p>
{{- end}}
{{- end}}
</div>
</body>
</html>
`))

func (b body) html() (string, error) {
	var buf bytes.Buffer
	if err := htmlTmpl.Execute(&buf, b); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// text renders the plain-text body: paragraphs separated by blank lines, the
// button as its label line and the URL, the footer after a signature
// separator.
func (b body) text() string {
	var s strings.Builder
	for _, bl := range b.Blocks {
		switch bl.Kind {
		case blockPara:
			s.WriteString(bl.Text + "\n\n")
		case blockHeading:
			s.WriteString(bl.Text + "\n")
		case blockSteps:
			for i, it := range bl.Items {
				s.WriteString(strconv.Itoa(i+1) + ". " + it + "\n")
			}
			s.WriteString("\n")
		case blockBullets:
			for _, it := range bl.Items {
				s.WriteString("- " + it + "\n")
			}
			s.WriteString("\n")
		case blockButton:
			s.WriteString(bl.Items[0] + "\n" + bl.URL + "\n\n")
		case blockLink:
			// The plain text already shows the URL with the button.
		case blockCode:
			s.WriteString("    " + bl.Text + "\n\n")
		case blockFooter:
			s.WriteString("-- \n" + bl.Text + "\n")
		}
	}
	return s.String()
}

// builder expands table strings with one set of values and keeps the first
// error, so message code reads as a list of blocks.
type builder struct {
	vals   map[string]string
	err    error
	blocks []block
}

func (b *builder) str(s string) string {
	out, err := expand(s, b.vals)
	if err != nil && b.err == nil {
		b.err = err
	}
	return out
}

func (b *builder) add(kind blockKind, s string) {
	b.blocks = append(b.blocks, block{Kind: kind, Text: b.str(s)})
}

func (b *builder) list(kind blockKind, items ...string) {
	bl := block{Kind: kind}
	for _, it := range items {
		bl.Items = append(bl.Items, b.str(it))
	}
	b.blocks = append(b.blocks, bl)
}

func (b *builder) email(lang, subject string) (Email, error) {
	subj := clean(b.str(subject))
	if b.err != nil {
		return Email{}, b.err
	}
	bd := body{Lang: lang, Subject: subj, Blocks: b.blocks}
	h, err := bd.html()
	if err != nil {
		return Email{}, err
	}
	return Email{Subject: subj, Text: bd.text(), HTML: h}, nil
}

func (b *builder) greeting(t *table, name string) {
	if name == "" {
		b.add(blockPara, t.GreetingNoName)
		return
	}
	b.add(blockPara, t.Greeting)
}

func invitationEmail(p prepared) (Email, error) {
	t := p.lang.t
	b := &builder{vals: map[string]string{
		"name":    p.invitee,
		"tenant":  p.tenant,
		"inviter": p.inviterFull,
		"expires": p.lang.date(p.expires.In(p.loc)),
		"button":  t.Button,
	}}
	b.greeting(t, p.invitee)

	anon := p.inviterFull == ""
	pick := func(named, anonymous string) string {
		if anon {
			return anonymous
		}
		return named
	}
	var subject string
	switch p.kind {
	case KindMember:
		subject = t.SubjectMember
		b.add(blockPara, pick(t.IntroMember, t.IntroMemberAnon))
	case KindIntegration:
		subject = t.SubjectIntegration
		b.add(blockPara, pick(t.IntroIntegration, t.IntroIntegrationAnon))
		b.add(blockPara, t.IntegrationNeutral)
	case KindIntegrator:
		subject = t.SubjectIntegrator
		b.add(blockPara, pick(t.IntroIntegrator, t.IntroIntegratorAnon))
		b.add(blockHeading, t.IntegratorRightsLead)
		b.list(blockBullets, t.IntegratorNoAdmins, t.IntegratorNoDismiss, t.IntegratorMarker, t.IntegratorOnlyOne)
	}
	b.add(blockPara, t.Expires)

	steps := []string{t.StepOpen}
	switch p.kind {
	case KindMember:
		switch p.delivery {
		case CodeBySMS:
			steps = append(steps, t.StepCodeSMS)
		case CodeToInviter:
			steps = append(steps, t.StepCodeInviter)
		}
		steps = append(steps, t.StepSignIn)
	case KindIntegration:
		steps = append(steps, t.StepPassword, t.StepConnect)
	case KindIntegrator:
		steps = append(steps, t.StepConfigure)
	}
	b.add(blockHeading, t.NextHeading)
	// In steps {inviter} is the name alone: "the code that Kari will give you".
	b.vals["inviter"] = p.inviter
	b.list(blockSteps, steps...)

	b.blocks = append(b.blocks,
		block{Kind: blockButton, Text: t.Button, URL: p.acceptURL, Items: []string{b.str(t.TextLink)}},
		block{Kind: blockLink, Text: t.ButtonFallback, URL: p.acceptURL})
	b.add(blockPara, t.Ignore)
	b.add(blockFooter, t.Footer)
	return b.email(p.lang.tag, subject)
}

func codeEmail(p prepared, code string, validFor time.Duration) (Email, error) {
	t := p.lang.t
	b := &builder{vals: map[string]string{
		"name":     p.inviter,
		"invitee":  p.invitee,
		"tenant":   p.tenant,
		"duration": p.lang.duration(validFor),
	}}
	b.greeting(t, p.inviter)
	b.add(blockPara, t.CodeIntro)
	b.blocks = append(b.blocks, block{Kind: blockCode, Text: code})
	b.add(blockPara, t.CodeValid)
	b.add(blockPara, t.CodeAdvice)
	b.add(blockFooter, t.Footer)
	return b.email(p.lang.tag, t.CodeSubject)
}
