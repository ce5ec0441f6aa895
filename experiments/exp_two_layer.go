package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/plots"
)

// twoLayerConfig is the [params] table of the two_layer experiment: a
// one-hidden-layer ReLU network ŷ = w2ᵀ relu(W1 x + b1) + b2 with squared
// loss L = ½(ŷ − y)² at one input x and target y.
type twoLayerConfig struct {
	X           []float64 `toml:"x"`            // the input; its length is the input size (1 to 16)
	Y           float64   `toml:"y"`            // the target
	Hidden      int       `toml:"hidden"`       // hidden width h, 1 to 64
	WeightScale float64   `toml:"weight_scale"` // weights and biases are drawn from N(0, weight_scale²)
	FDStep      float64   `toml:"fd_step"`      // central finite-difference step, 1e-10 to 1e-2
	HandTol     float64   `toml:"hand_tol"`     // tolerance of hand vs adjoint (relative)
	FDTol       float64   `toml:"fd_tol"`       // tolerance of every comparison against finite differences (relative)
}

// Validate checks every key's range.
func (c twoLayerConfig) Validate() error {
	errs := []error{
		inRange("hidden", c.Hidden, 1, 64),
		inRange("weight_scale", c.WeightScale, 1e-3, 1e3),
		inRange("fd_step", c.FDStep, 1e-10, 1e-2),
		inRange("hand_tol", c.HandTol, 0, 1),
		inRange("fd_tol", c.FDTol, 0, 1),
		inRange("y", c.Y, -1e6, 1e6),
	}
	if n := len(c.X); n < 1 || n > 16 {
		errs = append(errs, paramErrorf("x", "must have between 1 and 16 elements, got %d", n))
	}
	for i, v := range c.X {
		if !(math.Abs(v) <= 1e6) {
			errs = append(errs, paramErrorf("x", "element %d must be between -1e6 and 1e6, got %v", i, v))
		}
	}
	return errors.Join(errs...)
}

func init() {
	register(Spec[twoLayerConfig]{
		Name:    "two_layer",
		Summary: "The chain rule through a 2-layer ReLU network, by hand, by the adjoint core and by finite differences, every intermediate side by side.",
		Defaults: func() twoLayerConfig {
			return twoLayerConfig{
				X: []float64{0.5, -1.5}, Y: 1, Hidden: 3, WeightScale: 1,
				FDStep: 1e-6, HandTol: 1e-12, FDTol: 1e-6,
			}
		},
		Quick: func(c *twoLayerConfig) { c.Hidden = min(c.Hidden, 8) },
		Run:   runTwoLayer,
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

// twoLayerMaxDraws bounds how often runTwoLayer redraws the weights.
const twoLayerMaxDraws = 1000

// runTwoLayer draws the network, differentiates its loss three ways (by
// hand, by the adjoint core, by finite differences) and through
// adjoint.Check, and reports every intermediate side by side.
func runTwoLayer(r *Run, c twoLayerConfig) error {
	n, hid := len(c.X), c.Hidden
	rng := r.Rand()
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
	var net twoLayerNet
	draws := 0
	for {
		draws++
		net = twoLayerNet{n: n, h: hid, W1: draw(hid * n), b1: draw(hid), w2: draw(hid), b2: draw(1)[0]}
		z1, _, _, _ := net.forward(c.X, c.Y)
		active, clear := 0, true
		for _, z := range z1 {
			if z > 0 {
				active++
			}
			clear = clear && math.Abs(z) > 1e3*c.FDStep
		}
		if active > 0 && clear || draws == twoLayerMaxDraws {
			break
		}
	}

	start := time.Now()
	hand := net.handChainRule(c.X, c.Y)
	ad := net.adjointTrace(c.X, c.Y)
	fdt := net.fdGradients(c.X, c.Y, c.FDStep)
	elapsed := time.Since(start).Seconds()

	rep := r.Report
	rep.Heading("The network")
	rep.Paraf("Input `x = %s` (n = %d), target `y = %g`, hidden width h = %d, weights and biases drawn from N(0, %g²) with seed %d "+
		"(draw %d: weights are redrawn until at least one hidden unit is active and every |z1ᵢ| exceeds 1000 × `fd_step`):",
		twoLayerFmt(c.X, 0), n, c.Y, hid, c.WeightScale, r.Seed, draws)
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

	// The side-by-side table.
	type row struct {
		name     string
		hand, ad []float64
		fd       []float64 // nil for forward values
		cols     int       // >0 for matrices
	}
	one := func(v float64) []float64 { return []float64{v} }
	rows := []row{
		{name: "z1", hand: hand.z1, ad: ad.z1},
		{name: "h = relu(z1)", hand: hand.h, ad: ad.h},
		{name: "z2 = ŷ", hand: one(hand.yhat), ad: one(ad.yhat)},
		{name: "L", hand: one(hand.L), ad: one(ad.L)},
		{name: "dL/dŷ = dL/dz2", hand: one(hand.dyhat), ad: one(ad.dyhat), fd: one(fdt.dyhat)},
		{name: "dL/dw2", hand: hand.dw2, ad: ad.dw2, fd: fdt.dw2},
		{name: "dL/db2", hand: one(hand.db2), ad: one(ad.db2), fd: one(fdt.db2)},
		{name: "dL/dh", hand: hand.dh, ad: ad.dh, fd: fdt.dh},
		{name: "dL/dz1", hand: hand.dz1, ad: ad.dz1, fd: fdt.dz1},
		{name: "dL/dW1", hand: hand.dW1, ad: ad.dW1, fd: fdt.dW1, cols: n},
		{name: "dL/db1", hand: hand.db1, ad: ad.db1, fd: fdt.db1},
	}
	rep.Heading("Every intermediate, three ways")
	tab := rep.Table("quantity", "by hand", "adjoint core", "finite differences", "rel. err hand vs adjoint", "rel. err adjoint vs FD")
	var errHand, errFD float64
	for _, rw := range rows {
		eh := relErr(rw.ad, rw.hand)
		errHand = max(errHand, eh)
		fdCell, efCell := "—", "—"
		if rw.fd != nil {
			ef := relErr(rw.ad, rw.fd)
			errFD = max(errFD, ef)
			fdCell, efCell = twoLayerFmt(rw.fd, rw.cols), Num(ef)
		}
		tab.Row(rw.name, twoLayerFmt(rw.hand, rw.cols), twoLayerFmt(rw.ad, rw.cols), fdCell, Num(eh), efCell)
	}
	rep.Para("Relative errors are normwise: max |a − b| / max |b| over the entries of a quantity. " +
		"Matrices are written row by row, rows separated by `;`. Forward values have no finite-difference column.")

	// Dead units and the distance to the ReLU kinks.
	minZ, dead := math.Inf(1), []string(nil)
	for i, z := range hand.z1 {
		minZ = min(minZ, math.Abs(z))
		if z <= 0 {
			dead = append(dead, fmt.Sprint(i+1))
		}
	}
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
	rep.Paraf("The smallest |z1ᵢ| is %s, far larger than the finite-difference step %g, so no perturbation crosses a relu kink. "+
		"What finite differences still get wrong is rounding, of order ε·|L|/step = %s (ε = 2.2e-16), which is the size of the last column.",
		Num(minZ), c.FDStep, Num(0x1p-52*math.Abs(hand.L)/c.FDStep))

	// The whole loss through adjoint.Check: reverse, forward, FD, second order.
	lossFn := func(xs ...*adjoint.Var) *adjoint.Var {
		xv := adjoint.Const(adjoint.FromData(c.X, n, 1))
		z1 := adjoint.Add(adjoint.MatMul(xs[0], xv), xs[1])
		z2 := adjoint.Add(adjoint.MatMulT(xs[2], adjoint.ReLU(z1), true, false), xs[3])
		return adjoint.Scale(adjoint.Square(adjoint.AddScalar(z2, -c.Y)), 0.5)
	}
	params := []*adjoint.Tensor{
		adjoint.FromData(net.W1, hid, n), adjoint.FromData(net.b1, hid, 1),
		adjoint.FromData(net.w2, hid, 1), adjoint.FromData([]float64{net.b2}, 1, 1),
	}
	cr := adjoint.Check(lossFn, params, &adjoint.CheckSettings{Seed: uint64(r.Seed)})
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

	// Figures.
	names, g := twoLayerParamGrads(n, hid, hand, ad, fdt)
	handG, adG, fdG := g[0], g[1], g[2]
	if _, err := plots.Save(r.Path("gradients.png"), plots.Bars{
		Title:      "dL/dθ for every parameter θ, three ways",
		XLabel:     "parameter",
		Y:          plots.Axis{Label: "dL/dθ"},
		Categories: names,
		Legend:     plots.Outside,
		Groups: []plots.BarGroup{
			{Name: "by hand", Values: handG},
			{Name: "adjoint core", Values: adG},
			{Name: "finite differences", Values: fdG},
		},
	}, &plots.Options{WidthPx: max(720, 48*len(names)+180), HeightPx: 400}); err != nil {
		return err
	}
	if _, err := plots.Save(r.Path("dW1.png"), plots.HeatMap{
		Title:      "dL/dW1 (adjoint core)",
		XLabel:     "input j − 1",
		YLabel:     "hidden unit i − 1",
		ColorLabel: "dL/dW1[i, j]",
		Z:          ad.dW1, Rows: hid, Cols: n,
	}, &plots.Options{WidthPx: 480, HeightPx: 360}); err != nil {
		return err
	}
	rep.Heading("Figures")
	rep.Figure("gradients.png", "Every parameter's gradient by hand, by the adjoint core and by finite differences: the three bars of each parameter are equal to plotting precision.")
	rep.Figure("dW1.png", "dL/dW1 = dL/dz1 · xᵀ, an outer product: each row is xᵀ scaled by one hidden unit's dL/dz1, and zero for inactive units (axes count from 0: cell (i − 1, j − 1) is dL/dW1[i, j]).")

	rep.Metric("loss", ad.L)
	rep.Metric("max rel err hand vs adjoint", errHand)
	rep.Metric("max rel err adjoint vs FD", errFD)
	rep.Metric("adjoint.Check max rel err", cr.MaxRel())
	rep.Metric("inactive hidden units", float64(len(dead)))
	rep.Metric("weight draws", float64(draws))
	rep.Timing("hand, adjoint and finite differences", elapsed)

	rep.Check("every intermediate: hand vs adjoint core", errHand, c.HandTol)
	rep.Check("every derivative: adjoint core vs finite differences", errFD, c.FDTol)
	rep.Check("adjoint.Check: reverse mode vs finite differences", cr.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: forward mode vs finite differences", cr.FwdFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: reverse vs forward mode", cr.RevFwd.MaxRel, c.HandTol)
	rep.Check("adjoint.Check: duality ⟨u, J v⟩ = ⟨Jᵀu, v⟩", cr.Duality.MaxRel, c.HandTol)
	rep.CheckTrue("adjoint.Check: second order ran", cr.SecondOrder, fmt.Sprintf("SecondOrder = %v", cr.SecondOrder))
	rep.Check("adjoint.Check: Hessian vs finite differences of the gradient", cr.HessFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: Hessian reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxRel, c.HandTol)
	return nil
}

// twoLayerParamGrads lists every parameter's name and its gradient by the
// three methods, in the order W1 (row by row), b1, w2, b2.
func twoLayerParamGrads(n, hid int, ts ...twoLayerTrace) (names []string, grads [][]float64) {
	for i := range hid {
		for j := range n {
			names = append(names, fmt.Sprintf("W1%s%s", twoLayerSubscript(i+1), twoLayerSubscript(j+1)))
		}
	}
	for i := range hid {
		names = append(names, "b1"+twoLayerSubscript(i+1))
	}
	for i := range hid {
		names = append(names, "w2"+twoLayerSubscript(i+1))
	}
	names = append(names, "b2")
	for _, t := range ts {
		g := append(append(append(append([]float64(nil), t.dW1...), t.db1...), t.dw2...), t.db2)
		grads = append(grads, g)
	}
	return names, grads
}

// twoLayerSubscript writes a positive integer in Unicode twoLayerSubscript digits.
func twoLayerSubscript(i int) string {
	var b strings.Builder
	for _, d := range fmt.Sprint(i) {
		b.WriteRune('₀' + d - '0')
	}
	return b.String()
}
