package runner

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// markdownRenderer turns report.md into HTML: CommonMark with GitHub's
// tables. Raw HTML passes through (WithUnsafe) because the runner writes
// the <details> around long tables itself; report.md is generated, never
// user input.
var markdownRenderer = goldmark.New(
	goldmark.WithExtensions(extension.Table),
	goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
)

// renderHTML renders the Markdown src as HTML. Relative link and image
// destinations get the prefix base (such as "two_layer/", for a report
// shown in the index), headings move down by shift levels, and images get
// the width at which their SVG twin says they are meant to be seen (a PNG
// drawn at 2× pixel density then shows at its intended size). dir is the
// folder the relative destinations point into, to find those twins.
func renderHTML(src []byte, base, dir string, shift int) ([]byte, error) {
	doc := markdownRenderer.Parser().Parse(text.NewReader(src))
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			n.Level = min(n.Level+shift, 6)
		case *ast.Link:
			n.Destination = rebase(n.Destination, base)
		case *ast.Image:
			if w, h, ok := figureSize(dir, string(n.Destination)); ok {
				n.SetAttributeString("width", strconv.Itoa(w))
				n.SetAttributeString("height", strconv.Itoa(h))
			}
			n.Destination = rebase(n.Destination, base)
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := markdownRenderer.Renderer().Render(&b, src, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// rebase prefixes a relative URL with base.
func rebase(dest []byte, base string) []byte {
	if base == "" {
		return dest
	}
	u, err := url.Parse(string(dest))
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/") || u.Path == "" {
		return dest // absolute, or a fragment of this page
	}
	return []byte(base + string(dest))
}

// figureSize returns the size in CSS pixels at which the image dest
// (relative to dir) is meant to be shown: that of the SVG beside it, if
// there is one with a width and height in absolute units.
func figureSize(dir, dest string) (w, h int, ok bool) {
	if dir == "" {
		return 0, 0, false
	}
	file, err := url.PathUnescape(dest)
	if err != nil || strings.ContainsAny(file, `/\`) {
		return 0, 0, false
	}
	svg := strings.TrimSuffix(file, path.Ext(file)) + ".svg"
	f, err := os.Open(filepath.Join(dir, svg))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var root struct {
		Width  string `xml:"width,attr"`
		Height string `xml:"height,attr"`
	}
	if err := xml.NewDecoder(f).Decode(&root); err != nil {
		return 0, 0, false
	}
	wf, ok1 := cssPixels(root.Width)
	hf, ok2 := cssPixels(root.Height)
	if !ok1 || !ok2 || wf < 1 || hf < 1 {
		return 0, 0, false
	}
	return int(wf + 0.5), int(hf + 0.5), true
}

// cssPixels converts an SVG length ("453.5pt", "16cm", "605px", "605") to
// CSS pixels (96 per inch).
func cssPixels(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		px     float64
	}{{"px", 1}, {"pt", 96.0 / 72}, {"pc", 16}, {"in", 96}, {"cm", 96 / 2.54}, {"mm", 96 / 25.4}}
	scale := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, scale = strings.TrimSuffix(s, u.suffix), u.px
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return v * scale, true
}

// pageCSS styles index.html and report.html.
const pageCSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1f2328}
h1,h2,h3,h4,h5{line-height:1.25;margin:1.6em 0 .6em}h1{font-size:2rem}h2{font-size:1.6rem;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
h3{font-size:1.3rem}h4{font-size:1.1rem}h5{font-size:1rem}
table{border-collapse:collapse;margin:1rem 0;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
code{background:#f3f4f6;padding:.1em .3em;border-radius:3px}pre{background:#f6f8fa;padding:.7rem;overflow-x:auto;border-radius:4px}pre code{background:none;padding:0}
img{max-width:100%;height:auto;display:block;margin:1rem auto}
details{margin:1rem 0}summary{cursor:pointer;color:#0969da}
a{color:#0969da}
section.report{border-top:3px solid #8c959f;margin-top:3rem}section.theme>h2{margin-top:3rem}
.pass{color:#1a7f37;font-weight:bold}.fail{color:#cf222e;font-weight:bold}.none{color:#9a6700;font-weight:bold}
.meta{color:#59636e;font-size:.9em}`

// page wraps body in an HTML page.
func page(title string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", html.EscapeString(title), pageCSS)
	b.Write(body)
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}

// statusClass is the CSS class of a status.
func statusClass(s string) string {
	switch s {
	case statusPass:
		return "pass"
	case statusFail:
		return "fail"
	}
	return "none"
}
