package adjoint

import (
	"math"

	"github.com/adjointkit/adjointkit/internal/kernel"
)

// Elementwise unary operations share one primitive type: the Jacobian is
// diagonal, so both the VJP and the JVP multiply by the elementwise
// derivative f'(x), which each operation writes with differentiable ops
// (deriv below). That single rule is what makes every order exact.

type unaryKind uint8

const (
	uExp unaryKind = iota
	uLog
	uSqrt
	uAbs
	uSquare
	uTanh
	uSigmoid
	uReLU
	uSoftplus
	uSin
	uCos
	uTanhDeriv    // 1 − x², the derivative of tanh written in terms of its output
	uSigmoidDeriv // x(1 − x), the derivative of the sigmoid in terms of its output
)

// unaryTable names each operation and gives the loop that computes it.
// Every loop is written out, with no call per element: the transcendental
// ones are the kernel package's (vectorised where the CPU allows), the
// others are below.
var unaryTable = [...]struct {
	name string
	loop func(dst, src []float64)
}{
	uExp:          {"exp", kernel.Exp},
	uLog:          {"log", kernel.Log},
	uSqrt:         {"sqrt", sqrtLoop},
	uAbs:          {"abs", absLoop},
	uSquare:       {"square", squareLoop},
	uTanh:         {"tanh", kernel.Tanh},
	uSigmoid:      {"sigmoid", kernel.Sigmoid},
	uReLU:         {"relu", reluLoop},
	uSoftplus:     {"softplus", kernel.Softplus},
	uSin:          {"sin", kernel.Sin},
	uCos:          {"cos", kernel.Cos},
	uTanhDeriv:    {"tanh'", tanhDerivLoop},
	uSigmoidDeriv: {"sigmoid'", sigmoidDerivLoop},
}

func sqrtLoop(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = math.Sqrt(v)
	}
}

func absLoop(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = math.Abs(v)
	}
}

func squareLoop(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v * v
	}
}

// reluLoop keeps v > 0 and writes 0 otherwise (NaN included). It selects
// with a bit mask rather than a branch, which random signs would
// mispredict half the time.
func reluLoop(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = math.Float64frombits(math.Float64bits(v) & positiveMask(v))
	}
}

// positiveMask is all ones when v > 0 and zero otherwise (NaN included);
// the compiler makes it a conditional move.
func positiveMask(v float64) uint64 {
	var m uint64
	if v > 0 {
		m = ^uint64(0)
	}
	return m
}

// nonZeroMask is all ones when v ≠ 0 (NaN included) and zero otherwise.
func nonZeroMask(v float64) uint64 {
	var m uint64
	if v != 0 {
		m = ^uint64(0)
	}
	return m
}

// tanhDerivLoop computes 1 − y², the derivative of tanh from its output.
func tanhDerivLoop(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = 1 - v*v
	}
}

// sigmoidDerivLoop computes y(1 − y), the derivative of the sigmoid from
// its output.
func sigmoidDerivLoop(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v * (1 - v)
	}
}

type unaryOp struct{ k unaryKind }

func (u unaryOp) name() string { return unaryTable[u.k].name }

// deriv returns f'(x) elementwise, as a differentiable value, given the input
// x and the output y = f(x).
func (u unaryOp) deriv(x, y *Var) *Var {
	switch u.k {
	case uExp:
		return y
	case uLog:
		return PowConst(x, -1)
	case uSqrt:
		return Scale(PowConst(y, -1), 0.5)
	case uAbs:
		// The derivative of |x| is sign(x), constant almost everywhere;
		// at 0 we take 0.
		return Const(mapTensor(x.val, sign))
	case uSquare:
		return Scale(x, 2)
	case uTanh:
		return unary(uTanhDeriv, y)
	case uSigmoid:
		return unary(uSigmoidDeriv, y)
	case uReLU:
		// The step function; at 0 we take 0 (the subgradient PyTorch uses).
		step := &Tensor{Shape: x.val.Shape, Data: make([]float64, len(x.val.Data))}
		for i, v := range x.val.Data {
			if v > 0 {
				step.Data[i] = 1
			}
		}
		return Const(step)
	case uSoftplus:
		return Sigmoid(x)
	case uSin:
		return Cos(x)
	case uCos:
		return Neg(Sin(x))
	case uTanhDeriv:
		return Scale(x, -2)
	case uSigmoidDeriv:
		return AddScalar(Scale(x, -2), 1)
	}
	panic("adjoint: unknown unary op")
}

func (u unaryOp) vjp(g *Var, in []*Var, out *Var, _ []bool) []*Var {
	if u.k == uReLU {
		// Multiplying by the step function is a mask: one pass, and
		// differentiable again like any mask.
		return []*Var{maskWhere(g, in[0].val, keepPositive)}
	}
	if !g.tracked && !in[0].tracked && !out.tracked {
		// Nothing is recorded (a reverse pass without CreateGraph): the
		// product with the derivative in one pass, with the arithmetic of
		// Mul(g, deriv) element for element.
		if d := u.fusedVJP(g.val, in[0].val, out.val); d != nil {
			return []*Var{Const(d)}
		}
	}
	return []*Var{Mul(g, u.deriv(in[0], out))}
}

// fusedVJP returns g·f'(x) for the operations whose derivative is simple
// arithmetic on x or y = f(x), computed exactly as deriv and Mul would,
// or nil for the others.
func (u unaryOp) fusedVJP(g, x, y *Tensor) *Tensor {
	if !u.fuses() {
		return nil
	}
	out := &Tensor{Shape: g.Shape, Data: make([]float64, len(g.Data))}
	u.fusedProduct(out, g, x, y)
	return out
}

// fuses reports whether fusedProduct handles u.
func (u unaryOp) fuses() bool {
	switch u.k {
	case uExp, uTanh, uSigmoid, uSquare, uTanhDeriv, uSigmoidDeriv:
		return true
	}
	return false
}

// fusedProduct writes g ⊙ f′ to out (of g's size), f′ the derivative at x
// (y = f(x)), with the arithmetic of Mul(g, deriv) element for element.
func (u unaryOp) fusedProduct(out, g, x, y *Tensor) {
	od, gd := out.Data, g.Data[:len(out.Data)]
	switch u.k {
	case uExp:
		yd := y.Data[:len(od)]
		for i := range od {
			od[i] = gd[i] * yd[i]
		}
	case uTanh:
		yd := y.Data[:len(od)]
		for i := range od {
			od[i] = gd[i] * (1 - yd[i]*yd[i])
		}
	case uSigmoid:
		yd := y.Data[:len(od)]
		for i := range od {
			od[i] = gd[i] * (yd[i] * (1 - yd[i]))
		}
	case uSquare:
		xd := x.Data[:len(od)]
		for i := range od {
			od[i] = gd[i] * (2 * xd[i])
		}
	case uTanhDeriv:
		xd := x.Data[:len(od)]
		for i := range od {
			od[i] = gd[i] * (-2 * xd[i])
		}
	case uSigmoidDeriv:
		xd := x.Data[:len(od)]
		for i := range od {
			od[i] = gd[i] * (-2*xd[i] + 1)
		}
	}
}

func (u unaryOp) jvp(t []*Var, in []*Var, out *Var) *Var {
	if u.k == uReLU {
		return maskWhere(t[0], in[0].val, keepPositive)
	}
	if x := t[0]; !x.tracked && !in[0].tracked && !out.tracked && SameShape(x.val, in[0].val) {
		// Nothing is recorded (a forward pass without createGraph): the
		// tangent is the same elementwise product with the derivative as
		// the reverse rule's, in one pass with the arithmetic of
		// Mul(t, deriv), in the scope that product would take.
		if u.fuses() {
			r := new(result0).init(x.val.Shape)
			u.fusedProduct(r.val, x.val, in[0].val, out.val)
			s := out.scope // derivatives from y
			switch u.k {
			case uSquare, uTanhDeriv, uSigmoidDeriv:
				s = in[0].scope // derivatives from x
			}
			r.scope = innerScope(x.scope, s)
			return r
		}
	}
	return Mul(t[0], u.deriv(in[0], out))
}

func unary(k unaryKind, x *Var) *Var {
	out := newResult1(x.val.Shape, unaryOp{k}, x)
	unaryTable[k].loop(out.val.Data, x.val.Data)
	return out
}

// Exp returns eˣ elementwise.
func Exp(x *Var) *Var { return unary(uExp, x) }

// Log returns the natural logarithm elementwise.
func Log(x *Var) *Var { return unary(uLog, x) }

// Sqrt returns √x elementwise.
func Sqrt(x *Var) *Var { return unary(uSqrt, x) }

// Abs returns |x| elementwise. Its derivative at 0 is taken as 0.
func Abs(x *Var) *Var { return unary(uAbs, x) }

// Square returns x² elementwise.
func Square(x *Var) *Var { return unary(uSquare, x) }

// Tanh returns tanh x elementwise.
func Tanh(x *Var) *Var { return unary(uTanh, x) }

// Sigmoid returns the logistic function 1/(1+e⁻ˣ) elementwise, computed
// without overflow for large |x|.
func Sigmoid(x *Var) *Var { return unary(uSigmoid, x) }

// ReLU returns max(x, 0) elementwise. Its derivative at 0 is taken as 0.
func ReLU(x *Var) *Var { return unary(uReLU, x) }

// Softplus returns log(1+eˣ) elementwise, computed without overflow.
func Softplus(x *Var) *Var { return unary(uSoftplus, x) }

// Sin returns sin x elementwise.
func Sin(x *Var) *Var { return unary(uSin, x) }

// Cos returns cos x elementwise.
func Cos(x *Var) *Var { return unary(uCos, x) }

type scaleOp struct{ c float64 }

func (s scaleOp) name() string {
	if s.c == -1 {
		return "neg"
	}
	return "scale"
}
func (s scaleOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var { return []*Var{Scale(g, s.c)} }
func (s scaleOp) jvp(t []*Var, _ []*Var, _ *Var) *Var           { return Scale(t[0], s.c) }

// Scale returns c·x.
func Scale(x *Var, c float64) *Var {
	out := newResultOp1(x.val.Shape, nil, scaleOp{c}, x)
	od := out.val.Data
	for i, v := range x.val.Data {
		od[i] = c * v
	}
	return out
}

// Neg returns −x.
func Neg(x *Var) *Var { return Scale(x, -1) }

type shiftOp struct{}

func (shiftOp) name() string                                  { return "add_scalar" }
func (shiftOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var { return []*Var{g} }
func (shiftOp) jvp(t []*Var, _ []*Var, _ *Var) *Var           { return t[0] }

// AddScalar returns x + c elementwise.
func AddScalar(x *Var, c float64) *Var {
	out := &Tensor{Shape: x.val.Shape, Data: make([]float64, len(x.val.Data))}
	for i, v := range x.val.Data {
		out.Data[i] = v + c
	}
	return newVar1(out, shiftOp{}, x)
}

type powConstOp struct{ p float64 }

func (p powConstOp) name() string { return "pow_const" }
func (p powConstOp) deriv(x *Var) *Var {
	if p.p == 0 {
		return Const(New(x.Shape()...))
	}
	return Scale(PowConst(x, p.p-1), p.p)
}
func (p powConstOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{Mul(g, p.deriv(in[0]))}
}
func (p powConstOp) jvp(t []*Var, in []*Var, _ *Var) *Var { return Mul(t[0], p.deriv(in[0])) }

// PowConst returns xᵖ elementwise for a constant exponent p.
func PowConst(x *Var, p float64) *Var {
	var f func(float64) float64
	switch p {
	case -1:
		f = func(v float64) float64 { return 1 / v }
	case 2:
		f = func(v float64) float64 { return v * v }
	default:
		f = func(v float64) float64 { return math.Pow(v, p) }
	}
	return newVar1(mapTensor(x.val, f), powConstOp{p}, x)
}

func mapTensor(x *Tensor, f func(float64) float64) *Tensor {
	out := &Tensor{Shape: x.Shape, Data: make([]float64, len(x.Data))}
	for i, v := range x.Data {
		out.Data[i] = f(v)
	}
	return out
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
