package plots

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// markup is the text.Handler of every text in a figure: titles, axis
// and tick labels, legends, category labels and notes. It draws the
// package's markup (see the package documentation): _x and _{…} for
// subscripts, ^x and ^{…} for superscripts, \ to escape, and it stands in
// for characters the Liberation fonts lack.
type markup struct {
	fonts *font.Cache
}

// markupHandler is the handler every text style of the theme uses.
var markupHandler text.Handler = markup{fonts: font.DefaultCache}

var _ text.Handler = markup{}

// Script layout, relative to the size of the enclosing text.
const (
	scriptScale = 0.7   // font size of a sub- or superscript
	supShift    = 0.36  // baseline rise of a superscript
	subShift    = -0.16 // baseline drop of a subscript
	// capMiddle is half the capital height of Liberation Sans
	// (1409/2048 em), where an upside-down Δ is turned about.
	capMiddle = 0.344
)

// span is a piece of one line of text drawn in one size at one baseline.
type span struct {
	text  string
	scale float64 // font size relative to the line's size
	shift float64 // baseline rise in units of the line's size
	nabla bool    // draw the span (one ∇) as an upside-down Δ
}

// Escape returns s with the markup characters \ _ ^ { } escaped, so that
// a figure shows it verbatim: for file names, configuration keys and the
// like used as labels.
func Escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\_^{}`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Cache implements text.Handler.
func (m markup) Cache() *font.Cache { return m.fonts }

// Extents implements text.Handler.
func (m markup) Extents(fnt font.Font) font.Extents {
	face := m.fonts.Lookup(fnt, fnt.Size)
	return face.Extents()
}

// Lines implements text.Handler.
func (m markup) Lines(txt string) []string {
	return strings.Split(strings.TrimRight(txt, "\n"), "\n")
}

// spans parses one line of txt for the font fnt.
func (m markup) spans(txt string, fnt font.Font) []span {
	face := m.fonts.Lookup(fnt, fnt.Size)
	var buf sfnt.Buffer
	has := func(r rune) bool {
		i, err := face.Face.GlyphIndex(&buf, r)
		return err == nil && i != 0
	}
	p := markupParser{has: has}
	p.parse(txt, 1, 0)
	return p.out
}

// face returns the face of fnt scaled for a span.
func (m markup) face(fnt font.Font, s span) font.Face {
	size := fnt.Size * vg.Length(s.scale)
	return m.fonts.Lookup(fnt, size)
}

// spanText returns the characters a span draws.
func spanText(s span) string {
	if s.nabla {
		return "Δ"
	}
	return s.text
}

// Box implements text.Handler.
func (m markup) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	base := m.Extents(fnt)
	height, depth = base.Ascent, base.Descent
	for _, s := range m.spans(txt, fnt) {
		f := m.face(fnt, s)
		width += f.Width(spanText(s))
		e := f.Extents()
		shift := fnt.Size * vg.Length(s.shift)
		height = max(height, shift+e.Ascent)
		depth = max(depth, e.Descent-shift)
	}
	return width, height, depth
}

// Draw implements text.Handler. It places lines as text.Plain does, with
// room for the scripts of each line.
func (m markup) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	txt = strings.TrimRight(txt, "\n")
	if len(txt) == 0 {
		return
	}
	fnt := sty.Font
	ext := m.Extents(fnt)
	c.SetColor(sty.Color)
	if sty.Rotation != 0 {
		c.Push()
		c.Rotate(sty.Rotation)
	}
	sin64, cos64 := math.Sincos(sty.Rotation)
	sin, cos := vg.Length(sin64), vg.Length(cos64)
	pt.X, pt.Y = pt.Y*sin+pt.X*cos, pt.Y*cos-pt.X*sin

	// The block of lines spans, from its bottom, the height that
	// text.Style.Rectangle gives it; the first baseline sits as
	// text.Plain puts it for a line without scripts.
	ht := sty.Height(txt)
	top := pt.Y + ht*vg.Length(sty.YAlign) - (ext.Height - ext.Ascent) + ht
	lift := fnt.Size + ext.Height - 2*ext.Ascent - ext.Descent
	gap := ext.Height - ext.Ascent - ext.Descent
	y := top + lift
	for _, line := range m.Lines(txt) {
		w, h, d := m.Box(line, fnt)
		y -= h
		x := pt.X + vg.Length(sty.XAlign)*w
		m.drawLine(c, line, fnt, vg.Point{X: x, Y: y})
		y -= d + gap
	}
	if sty.Rotation != 0 {
		c.Pop()
	}
}

// drawLine draws one line with its baseline starting at pt.
func (m markup) drawLine(c vg.Canvas, line string, fnt font.Font, pt vg.Point) {
	for _, s := range m.spans(line, fnt) {
		f := m.face(fnt, s)
		w := f.Width(spanText(s))
		base := vg.Point{X: pt.X, Y: pt.Y + fnt.Size*vg.Length(s.shift)}
		if s.nabla {
			// ∇ is Δ upside down: turn Δ half a turn about the middle
			// of its box.
			mid := vg.Point{X: base.X + w/2, Y: base.Y + f.Font.Size*capMiddle}
			c.Push()
			c.Translate(mid)
			c.Rotate(math.Pi)
			c.FillString(f, vg.Point{X: -w / 2, Y: -f.Font.Size * capMiddle}, "Δ")
			c.Pop()
		} else {
			c.FillString(f, base, s.text)
		}
		pt.X += w
	}
}

// markupParser splits a line into spans.
type markupParser struct {
	has func(rune) bool // whether the font has a glyph for a rune
	out []span
}

// parse appends the spans of s, drawn at the given scale and shift.
func (p *markupParser) parse(s string, scale, shift float64) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.literal(lit.String(), scale, shift)
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && i+1 < len(s) && strings.IndexByte(`\_^{}`, s[i+1]) >= 0:
			lit.WriteByte(s[i+1])
			i += 2
		case r == '_' || r == '^':
			arg, braced, rest, ok := scriptArg(s[i+1:])
			if !ok {
				lit.WriteRune(r)
				i += n
				continue
			}
			flush()
			sc, sh := scale*scriptScale, shift+scale*subShift
			if r == '^' {
				sh = shift + scale*supShift
			}
			if braced {
				p.parse(arg, sc, sh)
			} else {
				p.literal(arg, sc, sh)
			}
			i = len(s) - len(rest)
		default:
			lit.WriteRune(r)
			i += n
		}
	}
	flush()
}

// scriptArg splits the argument of a _ or ^ off the front of s: a group
// in braces, or else an optional sign and a run of letters and digits
// ("l", "-1", "obs", "10"), or else one character that is not a space
// ("*"). ok is false if s starts with none of these, or with an
// unbalanced brace; the _ or ^ is then drawn as it is.
func scriptArg(s string) (arg string, braced bool, rest string, ok bool) {
	if strings.HasPrefix(s, "{") {
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					return s[1:i], true, s[i+1:], true
				}
			}
		}
		return "", false, s, false
	}
	i := 0
	if r, n := utf8.DecodeRuneInString(s); r == '-' || r == '+' || r == '−' {
		i = n
	}
	j := i
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		j += n
	}
	if j > i {
		return s[:j], false, s[j:], true
	}
	if i > 0 {
		// A lone sign: "x^-" or "x^+".
		return s[:i], false, s[i:], true
	}
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || unicode.IsSpace(r) || strings.ContainsRune(`\_^{}`, r) || r == utf8.RuneError {
		return "", false, s, false
	}
	return s[:n], false, s[n:], true
}

// literal appends text drawn as it is, except for Unicode sub- and
// superscript characters, drawn as scripts of the plain characters
// (Liberation Sans lacks some and spaces its own too widely: "log₁₀"
// read as "log₁ ₀"), and for characters the font lacks, drawn as their
// stand-ins (fallbacks).
func (p *markupParser) literal(s string, scale, shift float64) {
	var cur strings.Builder
	emit := func(t string, sc, sh float64, nabla bool) {
		if t == "" {
			return
		}
		if n := len(p.out); n > 0 && !nabla && !p.out[n-1].nabla &&
			p.out[n-1].scale == sc && p.out[n-1].shift == sh {
			p.out[n-1].text += t
			return
		}
		p.out = append(p.out, span{text: t, scale: sc, shift: sh, nabla: nabla})
	}
	flush := func() {
		emit(cur.String(), scale, shift, false)
		cur.Reset()
	}
	runes := []rune(s)
	for i := 0; i < len(runes); {
		r := runes[i]
		if kind := scriptKind(r); kind != 0 {
			// The run of scripts of one kind starting here.
			j := i
			var plain strings.Builder
			for j < len(runes) && scriptKind(runes[j]) == kind {
				plain.WriteRune(scriptPlain[runes[j]])
				j++
			}
			flush()
			sh := shift + scale*subShift
			if kind > 0 {
				sh = shift + scale*supShift
			}
			emit(plain.String(), scale*scriptScale, sh, false)
			i = j
			continue
		}
		switch sub, ok := fallbacks[r]; {
		case r == '-' && scale < 1:
			cur.WriteRune('−') // a hyphen in a script is a minus sign
		case r == '‖':
			// Liberation Sans's ‖ is hardly taller than an l, so that
			// ‖W_l‖ read as "llWlll"; two bars reach below the line.
			cur.WriteString("||")
		case p.has(r) || !ok:
			cur.WriteRune(r)
		case r == '∇':
			flush()
			emit("∇", scale, shift, true)
		default:
			cur.WriteString(sub)
		}
		i++
	}
	flush()
}

// fallbacks are the stand-ins for characters that Liberation Sans lacks
// but figure text uses. ∇ is drawn as Δ turned upside down. (‖, which it
// has, is drawn as || too; see literal.)
var fallbacks = map[rune]string{
	'∇': "∇",
	'∥': "||",
	'⟨': "<",
	'⟩': ">",
	'∗': "*",
	'⋆': "*",
	'∘': "◦",
	'⊙': "◦",
	'∝': "~",
	'∼': "~",
	'∈': "ϵ",
	'⇒': "=>",
	'⌈': "[",
	'⌉': "]",
	'⌊': "[",
	'⌋': "]",
}

// scriptPlain maps Unicode sub- and superscript characters to the plain
// characters they raise or lower; scriptKinds records whether each is a
// subscript (-1) or a superscript (+1). Both are constant tables.
var scriptPlain, scriptKinds = scriptTables(
	"₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢᵣᵤᵥⱼᵦᵧᵨᵩᵪ", "0123456789+−=()aeoxhklmnpstiruvjβγρφχ",
	"⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵈᵏ", "0123456789+−=()niTdk")

// scriptTables builds scriptPlain and scriptKinds from the subscript and
// superscript characters and the plain characters they stand for.
func scriptTables(subs, subPlain, sups, supPlain string) (map[rune]rune, map[rune]int) {
	plain, kinds := map[rune]rune{}, map[rune]int{}
	add := func(kind int, scripts, p string) {
		ps := []rune(p)
		for i, r := range []rune(scripts) {
			plain[r] = ps[i]
			kinds[r] = kind
		}
	}
	add(-1, subs, subPlain)
	add(+1, sups, supPlain)
	return plain, kinds
}

// scriptKind returns -1 for a subscript character, +1 for a superscript
// character and 0 otherwise.
func scriptKind(r rune) int { return scriptKinds[r] }
