package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/plots"
)

// twoLayerConfig is the [params] table of the two_layer experiment: a
// one-hidden-layer ReLU network ŷ = w2ᵀ relu(W1 x + b1) + b2 with squared
// loss L = ½(ŷ − y)² at one input x and target y.
type twoLayerConfig struct {
	X           []float64  `toml:"x"`            // the input; its length is the input size (1 to 16)
	Y           float64    `toml:"y"`            // the target
	Hidden      int        `toml:"hidden"`       // hidden width h, 1 to 64
	WeightScale float64    `toml:"weight_scale"` // weights and biases are drawn from N(0, weight_scale²)
	FDStep      float64    `toml:"fd_step"`      // central finite-difference step, 1e-10 to 1e-2
	HandTol     runner.Tol `toml:"hand_tol"`     // tolerance of hand vs adjoint (relative)
	FDTol       runner.Tol `toml:"fd_tol"`       // tolerance of every comparison against finite differences (relative)
}

// Validate checks every key's range.
func (c twoLayerConfig) Validate() error {
	errs := []error{
		runner.InRange("hidden", c.Hidden, 1, 64),
		runner.InRange("weight_scale", c.WeightScale, 1e-3, 1e3),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("hand_tol", c.HandTol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("y", c.Y, -1e6, 1e6),
	}
	if n := len(c.X); n < 1 || n > 16 {
		errs = append(errs, runner.ParamErrorf("x", "must have between 1 and 16 elements, got %d", n))
	}
	for i, v := range c.X {
		if !(math.Abs(v) <= 1e6) {
			errs = append(errs, runner.ParamErrorf("x", "element %d must be between -1e6 and 1e6, got %v", i, v))
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[twoLayerConfig, twoLayerResult]{
		Name:    "two_layer",
		Theme:   "nn",
		Summary: "The chain rule through a 2-layer ReLU network, by hand, by the adjoint core and by finite differences, every intermediate side by side.",
		Defaults: func() twoLayerConfig {
			return twoLayerConfig{
				X: []float64{0.5, -1.5}, Y: 1, Hidden: 3, WeightScale: 1,
				FDStep: 1e-6, HandTol: 1e-12, FDTol: 1e-6,
			}
		},
		Quick:   func(c *twoLayerConfig) { c.Hidden = min(c.Hidden, 8) },
		Compute: computeTwoLayer,
		Figures: twoLayerFigures,
		Report:  twoLayerReport,

		Headline: "max rel err adjoint vs FD",
	})
}

// twoLayerNet holds the parameters of the network, as plain slices. W1 is
// h×n in row-major order.
type twoLayerNet struct {
	n, h   int
	W1, b1 []float64
	w2     []float64
	b2     float64
}

// twoLayerTrace holds every intermediate of one forward and backward pass.
// Matrices are row-major.
type twoLayerTrace struct {
	z1, h    []float64 // pre-activations and activations of the hidden layer
	yhat, L  float64   // output z2 = ŷ (identity output) and loss
	dyhat    float64   // dL/dŷ = dL/dz2
	dw2, dh  []float64 // dL/dw2, dL/dh
	db2      float64   // dL/db2
	dz1, db1 []float64 // dL/dz1, dL/db1
	dW1      []float64 // dL/dW1, h×n
}

// forward computes z1, h, ŷ and L with plain loops.
func (net twoLayerNet) forward(x []float64, y float64) (z1, h []float64, yhat, L float64) {
	z1 = make([]float64, net.h)
	h = make([]float64, net.h)
	yhat = net.b2
	for i := range net.h {
		s := net.b1[i]
		for j := range net.n {
			s += net.W1[i*net.n+j] * x[j]
		}
		z1[i] = s
		h[i] = math.Max(s, 0)
		yhat += net.w2[i] * h[i]
	}
	r := yhat - y
	return z1, h, yhat, 0.5 * r * r
}

// handChainRule runs the forward pass and the chain rule by hand, one
// local derivative at a time, with plain float64 loops.
func (net twoLayerNet) handChainRule(x []float64, y float64) twoLayerTrace {
	var t twoLayerTrace
	t.z1, t.h, t.yhat, t.L = net.forward(x, y)
	t.dyhat = t.yhat - y // L = ½(ŷ − y)²
	t.db2 = t.dyhat      // ŷ = w2ᵀh + b2
	t.dw2 = make([]float64, net.h)
	t.dh = make([]float64, net.h)
	t.dz1 = make([]float64, net.h)
	t.db1 = make([]float64, net.h)
	t.dW1 = make([]float64, net.h*net.n)
	for i := range net.h {
		t.dw2[i] = t.dyhat * t.h[i]
		t.dh[i] = t.dyhat * net.w2[i]
		if t.z1[i] > 0 { // h = relu(z1)
			t.dz1[i] = t.dh[i]
		}
		t.db1[i] = t.dz1[i] // z1 = W1 x + b1
		for j := range net.n {
			t.dW1[i*net.n+j] = t.dz1[i] * x[j]
		}
	}
	return t
}

// adjointTrace records the same network with the adjoint core and asks one
// reverse pass for the gradient of L with respect to the parameters and to
// the intermediate values z1, h and ŷ.
func (net twoLayerNet) adjointTrace(x []float64, y float64) twoLayerTrace {
	W1 := adjoint.Param(adjoint.FromData(net.W1, net.h, net.n))
	b1 := adjoint.Param(adjoint.FromData(net.b1, net.h, 1))
	w2 := adjoint.Param(adjoint.FromData(net.w2, net.h, 1))
	b2 := adjoint.Param(adjoint.FromData([]float64{net.b2}, 1, 1))
	xv := adjoint.Const(adjoint.FromData(x, net.n, 1))

	z1 := adjoint.Add(adjoint.MatMul(W1, xv), b1)
	h := adjoint.ReLU(z1)
	z2 := adjoint.Add(adjoint.MatMulT(w2, h, true, false), b2) // ŷ = z2
	L := adjoint.Scale(adjoint.Square(adjoint.AddScalar(z2, -y)), 0.5)

	g := adjoint.Backward(L, []*adjoint.Var{z2, h, z1, W1, b1, w2, b2}, nil)
	val := func(v *adjoint.Var) []float64 { return v.Value().Data }
	return twoLayerTrace{
		z1: val(z1), h: val(h), yhat: z2.Item(), L: L.Item(),
		dyhat: g[0].Item(), dh: val(g[1]), dz1: val(g[2]), dW1: val(g[3]),
		db1: val(g[4]), dw2: val(g[5]), db2: g[6].Item(),
	}
}

// fdGradients approximates the derivatives of L by central finite
// differences (gonum diff/fd) of the plain forward pass, perturbing each
// parameter group and each intermediate value in turn.
func (net twoLayerNet) fdGradients(x []float64, y float64, step float64) twoLayerTrace {
	set := &fd.Settings{Formula: fd.Central, Step: step}
	grad := func(at []float64, f func(v []float64) float64) []float64 {
		return fd.Gradient(nil, f, append([]float64(nil), at...), set)
	}
	loss := func(m twoLayerNet) float64 { _, _, _, L := m.forward(x, y); return L }
	with := func(edit func(m *twoLayerNet, v []float64)) func(v []float64) float64 {
		return func(v []float64) float64 {
			m := net
			edit(&m, v)
			return loss(m)
		}
	}
	// Losses as functions of the intermediates, downstream of each.
	fromYhat := func(v []float64) float64 { r := v[0] - y; return 0.5 * r * r }
	fromH := func(hv []float64) float64 {
		yhat := net.b2
		for i := range net.h {
			yhat += net.w2[i] * hv[i]
		}
		return fromYhat([]float64{yhat})
	}
	fromZ1 := func(z []float64) float64 {
		hv := make([]float64, len(z))
		for i, v := range z {
			hv[i] = math.Max(v, 0)
		}
		return fromH(hv)
	}

	var t twoLayerTrace
	t.z1, t.h, t.yhat, t.L = net.forward(x, y)
	t.dyhat = grad([]float64{t.yhat}, fromYhat)[0]
	t.dh = grad(t.h, fromH)
	t.dz1 = grad(t.z1, fromZ1)
	t.dW1 = grad(net.W1, with(func(m *twoLayerNet, v []float64) { m.W1 = v }))
	t.db1 = grad(net.b1, with(func(m *twoLayerNet, v []float64) { m.b1 = v }))
	t.dw2 = grad(net.w2, with(func(m *twoLayerNet, v []float64) { m.w2 = v }))
	t.db2 = grad([]float64{net.b2}, with(func(m *twoLayerNet, v []float64) { m.b2 = v[0] }))[0]
	return t
}

// twoLayerFmt formats a vector as [a, b, c] (a single number without
// brackets), or a rows×cols row-major matrix as [a b; c d], with 10
// significant digits so that finite-difference errors show in the last
// places.
func twoLayerFmt(v []float64, cols int) string {
	if len(v) == 1 && cols == 0 {
		x := v[0]
		if x == 0 {
			x = 0 // print −0 as 0
		}
		return fmt.Sprintf("%.10g", x)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			switch {
			case cols > 0 && i%cols == 0:
				b.WriteString("; ")
			case cols > 0:
				b.WriteString(" ")
			default:
				b.WriteString(", ")
			}
		}
		if x == 0 {
			x = 0 // print −0 as 0
		}
		fmt.Fprintf(&b, "%.10g", x)
	}
	b.WriteByte(']')
	return b.String()
}

// twoLayerMaxDraws bounds how often computeTwoLayer redraws the weights.
const twoLayerMaxDraws = 1000

// twoLayerResult is what computeTwoLayer finds.
type twoLayerResult struct {
	net          twoLayerNet
	draws        int                 // weight draws until the network was usable
	hand, ad, fd twoLayerTrace       // the three ways
	check        adjoint.CheckResult // adjoint.Check on the whole loss
	seconds      float64             // wall time of the three ways
}

// computeTwoLayer draws the network and differentiates its loss three ways
// (by hand, by the adjoint core, by finite differences) and through
// adjoint.Check.
func computeTwoLayer(env *runner.Env, c twoLayerConfig) (*twoLayerResult, error) {
	n, hid := len(c.X), c.Hidden
	rng := env.Rand()
	draw := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = c.WeightScale * rng.NormFloat64()
		}
		return v
	}
	// Redraw until some hidden unit is active (otherwise no gradient
	// reaches W1 and b1) and every z1 is well away from relu's kink at 0
	// (otherwise central differences straddle it).
	res := &twoLayerResult{}
	for {
		res.draws++
		res.net = twoLayerNet{n: n, h: hid, W1: draw(hid * n), b1: draw(hid), w2: draw(hid), b2: draw(1)[0]}
		z1, _, _, _ := res.net.forward(c.X, c.Y)
		active, clear := 0, true
		for _, z := range z1 {
			if z > 0 {
				active++
			}
			clear = clear && math.Abs(z) > 1e3*c.FDStep
		}
		if active > 0 && clear || res.draws == twoLayerMaxDraws {
			break
		}
	}

	start := time.Now()
	res.hand = res.net.handChainRule(c.X, c.Y)
	res.ad = res.net.adjointTrace(c.X, c.Y)
	res.fd = res.net.fdGradients(c.X, c.Y, c.FDStep)
	res.seconds = time.Since(start).Seconds()

	// The whole loss through adjoint.Check: reverse, forward, FD, second order.
	lossFn := func(xs ...*adjoint.Var) *adjoint.Var {
		xv := adjoint.Const(adjoint.FromData(c.X, n, 1))
		z1 := adjoint.Add(adjoint.MatMul(xs[0], xv), xs[1])
		z2 := adjoint.Add(adjoint.MatMulT(xs[2], adjoint.ReLU(z1), true, false), xs[3])
		return adjoint.Scale(adjoint.Square(adjoint.AddScalar(z2, -c.Y)), 0.5)
	}
	net := res.net
	params := []*adjoint.Tensor{
		adjoint.FromData(net.W1, hid, n), adjoint.FromData(net.b1, hid, 1),
		adjoint.FromData(net.w2, hid, 1), adjoint.FromData([]float64{net.b2}, 1, 1),
	}
	res.check = adjoint.Check(lossFn, params, &adjoint.CheckSettings{Seed: uint64(env.Seed)})
	return res, nil
}

// twoLayerRow is one quantity of the side-by-side table: its value by hand
// and by the adjoint core, and by finite differences for derivatives.
type twoLayerRow struct {
	name     string
	hand, ad []float64
	fd       []float64 // nil for forward values
	cols     int       // >0 for matrices
}

// rows lists every intermediate of the three ways, forward values first.
func (r *twoLayerResult) rows() []twoLayerRow {
	one := func(v float64) []float64 { return []float64{v} }
	h, a, f := r.hand, r.ad, r.fd
	return []twoLayerRow{
		{name: "z1", hand: h.z1, ad: a.z1},
		{name: "h = relu(z1)", hand: h.h, ad: a.h},
		{name: "z2 = ŷ", hand: one(h.yhat), ad: one(a.yhat)},
		{name: "L", hand: one(h.L), ad: one(a.L)},
		{name: "dL/dŷ = dL/dz2", hand: one(h.dyhat), ad: one(a.dyhat), fd: one(f.dyhat)},
		{name: "dL/dw2", hand: h.dw2, ad: a.dw2, fd: f.dw2},
		{name: "dL/db2", hand: one(h.db2), ad: one(a.db2), fd: one(f.db2)},
		{name: "dL/dh", hand: h.dh, ad: a.dh, fd: f.dh},
		{name: "dL/dz1", hand: h.dz1, ad: a.dz1, fd: f.dz1},
		{name: "dL/dW1", hand: h.dW1, ad: a.dW1, fd: f.dW1, cols: r.net.n},
		{name: "dL/db1", hand: h.db1, ad: a.db1, fd: f.db1},
	}
}

// errors returns the largest relative error of hand against adjoint over
// every intermediate, and of adjoint against finite differences over every
// derivative.
func (r *twoLayerResult) errors() (hand, fd float64) {
	for _, rw := range r.rows() {
		hand = max(hand, relErr(rw.ad, rw.hand))
		if rw.fd != nil {
			fd = max(fd, relErr(rw.ad, rw.fd))
		}
	}
	return hand, fd
}

// inactive lists the hidden units (from 1) with z1 ≤ 0.
func (r *twoLayerResult) inactive() []string {
	var dead []string
	for i, z := range r.hand.z1 {
		if z <= 0 {
			dead = append(dead, strconv.Itoa(i+1))
		}
	}
	return dead
}

func twoLayerFigures(dir runner.Dir, c twoLayerConfig, res *twoLayerResult) error {
	n, hid := len(c.X), c.Hidden
	names, g := twoLayerParamGrads(n, hid, res.hand, res.ad, res.fd)
	if _, err := plots.Save(dir.Path("gradients.png"), plots.Bars{
		Title:      "dL/dθ for every parameter θ, three ways",
		XLabel:     "parameter",
		Y:          plots.Axis{Label: "dL/dθ"},
		Categories: names,
		Legend:     plots.Outside,
		Groups: []plots.BarGroup{
			{Name: "by hand", Values: g[0]},
			{Name: "adjoint core", Values: g[1]},
			{Name: "finite differences", Values: g[2]},
		},
	}, &plots.Options{WidthPx: max(720, 48*len(names)+180), HeightPx: 400}); err != nil {
		return err
	}
	_, err := plots.Save(dir.Path("dW1.png"), plots.HeatMap{
		Title:      "dL/dW1 (adjoint core)",
		XLabel:     "input j",
		YLabel:     "hidden unit i",
		ColorLabel: "dL/dW1[i, j]",
		Z:          res.ad.dW1, Rows: hid, Cols: n,
		// Cell centres at 1 … n and 1 … h, labelled with whole numbers:
		// the axes count as the subscripts of W1 do.
		XExtent:    plots.Extent{Min: 0.5, Max: float64(n) + 0.5},
		YExtent:    plots.Extent{Min: 0.5, Max: float64(hid) + 0.5},
		IndexTicks: true,
	}, &plots.Options{WidthPx: 480, HeightPx: 360})
	return err
}

func twoLayerReport(rep *runner.Report, c twoLayerConfig, res *twoLayerResult) {
	n, hid, net := len(c.X), c.Hidden, res.net
	rep.Heading("The network")
	rep.Paraf("Input `x = %s` (n = %d), target `y = %g`, hidden width h = %d, weights and biases drawn from N(0, %g²) "+
		"(draw %d: weights are redrawn until at least one hidden unit is active and every |z1ᵢ| exceeds 1000 × `fd_step`):",
		twoLayerFmt(c.X, 0), n, c.Y, hid, c.WeightScale, res.draws)
	rep.Code(strings.Join([]string{
		"z1 = W1 x + b1        (h)",
		"h  = relu(z1)         (h)",
		"z2 = w2ᵀ h + b2       (1)    ŷ = z2 (identity output)",
		"L  = ½ (ŷ − y)²",
	}, "\n"))
	rep.Code(fmt.Sprintf("W1 = %s\nb1 = %s\nw2 = %s\nb2 = %.10g",
		twoLayerFmt(net.W1, n), twoLayerFmt(net.b1, 0), twoLayerFmt(net.w2, 0), net.b2))
	rep.Para("The chain rule, one local derivative at a time, is what the hand-written column computes with plain float64 loops:")
	rep.Code(strings.Join([]string{
		"dL/dŷ  = ŷ − y",
		"dL/dw2 = dL/dŷ · h          dL/db2 = dL/dŷ",
		"dL/dh  = dL/dŷ · w2",
		"dL/dz1 = dL/dh ⊙ [z1 > 0]",
		"dL/dW1 = dL/dz1 · xᵀ        dL/db1 = dL/dz1",
	}, "\n"))
	rep.Para("The adjoint column records the same computation with the adjoint core and makes one reverse pass " +
		"(`adjoint.Backward`) for the derivatives of L with respect to the parameters and to the intermediate values z2 = ŷ, h and z1. " +
		"The finite-difference column perturbs each quantity in turn and differentiates the plain forward pass from that point on " +
		"(gonum `diff/fd`, central formula).")

	rep.Heading("Every intermediate, three ways")
	tab := rep.Table("quantity", "by hand", "adjoint core", "finite differences", "rel. err hand vs adjoint", "rel. err adjoint vs FD")
	for _, rw := range res.rows() {
		fdCell, efCell := "—", "—"
		if rw.fd != nil {
			fdCell, efCell = twoLayerFmt(rw.fd, rw.cols), runner.Num(relErr(rw.ad, rw.fd))
		}
		tab.Row(rw.name, twoLayerFmt(rw.hand, rw.cols), twoLayerFmt(rw.ad, rw.cols), fdCell, runner.Num(relErr(rw.ad, rw.hand)), efCell)
	}
	rep.Para("Relative errors are normwise: max |a − b| / max |b| over the entries of a quantity. " +
		"Matrices are written row by row, rows separated by `;`. Forward values have no finite-difference column.")

	dead := res.inactive()
	switch len(dead) {
	case 0:
		rep.Para("Every hidden unit is active (z1 > 0), so relu passes every gradient through unchanged.")
	case 1:
		rep.Paraf("Hidden unit %s is inactive (z1 ≤ 0): relu passes no gradient through it, so its entries of dL/dw2, dL/dz1 and dL/db1 "+
			"and its row of dL/dW1 are exactly zero in all three columns, while its entry of dL/dh is not.", dead[0])
	default:
		rep.Paraf("Hidden units %s are inactive (z1 ≤ 0): relu passes no gradient through them, so their entries of dL/dw2, dL/dz1 and dL/db1 "+
			"and their rows of dL/dW1 are exactly zero in all three columns, while their entries of dL/dh are not.", strings.Join(dead, ", "))
	}
	minZ := math.Inf(1)
	for _, z := range res.hand.z1 {
		minZ = min(minZ, math.Abs(z))
	}
	errHand, errFD := res.errors()
	rounding := 0x1p-52 * math.Abs(res.hand.L) / c.FDStep
	rep.Paraf("The smallest |z1ᵢ| is %s, %s 1000 times the finite-difference step %g, so no perturbation crosses a relu kink. "+
		"Rounding alone puts an error of order ε·|L|/step = %s (ε = 2.2e-16) into a central difference; "+
		"the largest relative error of the finite-difference column is %s.",
		runner.Num(minZ), runner.Compare(minZ, 1e3*c.FDStep), c.FDStep, runner.Num(rounding), runner.Num(errFD))

	cr := res.check
	rep.Heading("adjoint.Check on the whole loss")
	rep.Paraf("`adjoint.Check` differentiates L(W1, b1, w2, b2) (%d parameters) by reverse mode, forward mode and central differences, "+
		"checks the duality ⟨u, J v⟩ = ⟨Jᵀu, v⟩, and compares the Hessian by reverse-over-reverse, forward-over-reverse and "+
		"central differences of the gradient. Relu's second derivative is zero away from its kink, but the Hessian is not: "+
		"L is quadratic in ŷ, which is bilinear in w2 and the active rows of W1, b1.", cr.In)
	ct := rep.Table("comparison", "max abs. error", "max rel. error")
	ct.Row("reverse mode vs finite differences", cr.RevFD.MaxAbs, cr.RevFD.MaxRel)
	ct.Row("forward mode vs finite differences", cr.FwdFD.MaxAbs, cr.FwdFD.MaxRel)
	ct.Row("reverse vs forward mode", cr.RevFwd.MaxAbs, cr.RevFwd.MaxRel)
	ct.Row("duality ⟨u, J v⟩ vs ⟨Jᵀu, v⟩", cr.Duality.MaxAbs, cr.Duality.MaxRel)
	ct.Row("Hessian: reverse-over-reverse vs FD of the gradient", cr.HessFD.MaxAbs, cr.HessFD.MaxRel)
	ct.Row("Hessian: reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxAbs, cr.HessFwdRev.MaxRel)

	rep.Heading("Figures")
	rep.Figure("gradients.png", fmt.Sprintf("Every parameter's gradient by hand, by the adjoint core and by finite differences. "+
		"The three bars of a parameter differ by at most %s of the largest gradient, %s the 1e-3 a bar's height can show.",
		runner.Num(max(errHand, errFD)), runner.Compare(max(errHand, errFD), 1e-3)))
	rep.Figure("dW1.png", "dL/dW1 = dL/dz1 · xᵀ, an outer product: row i is xᵀ scaled by hidden unit i's dL/dz1, and zero for inactive units.")

	rep.Metric("loss", res.ad.L)
	rep.Metric("max rel err hand vs adjoint", errHand)
	rep.Metric("max rel err adjoint vs FD", errFD)
	rep.Metric("adjoint.Check max rel err", cr.MaxRel())
	rep.Metric("inactive hidden units", float64(len(dead)))
	rep.Metric("weight draws", float64(res.draws))
	rep.Timing("hand, adjoint and finite differences", res.seconds)

	rep.Check("every intermediate: hand vs adjoint core", errHand, c.HandTol)
	rep.Check("every derivative: adjoint core vs finite differences", errFD, c.FDTol)
	rep.Check("adjoint.Check: reverse mode vs finite differences", cr.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: forward mode vs finite differences", cr.FwdFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: reverse vs forward mode", cr.RevFwd.MaxRel, c.HandTol)
	rep.Check("adjoint.Check: duality ⟨u, J v⟩ = ⟨Jᵀu, v⟩", cr.Duality.MaxRel, c.HandTol)
	rep.CheckTrue("adjoint.Check: second order ran", cr.SecondOrder, fmt.Sprintf("SecondOrder = %v", cr.SecondOrder))
	rep.Check("adjoint.Check: Hessian vs finite differences of the gradient", cr.HessFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: Hessian reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxRel, c.HandTol)
}

// twoLayerParamGrads lists every parameter's name and its gradient by the
// three methods, in the order W1 (row by row), b1, w2, b2.
func twoLayerParamGrads(n, hid int, ts ...twoLayerTrace) (names []string, grads [][]float64) {
	for i := range hid {
		for j := range n {
			names = append(names, fmt.Sprintf("W1%s%s", subscript(i+1), subscript(j+1)))
		}
	}
	for i := range hid {
		names = append(names, "b1"+subscript(i+1))
	}
	for i := range hid {
		names = append(names, "w2"+subscript(i+1))
	}
	names = append(names, "b2")
	for _, t := range ts {
		g := append(append(append(append([]float64(nil), t.dW1...), t.db1...), t.dw2...), t.db2)
		grads = append(grads, g)
	}
	return names, grads
}
