package adjoint

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// JacobianRev returns the Jacobian of f at x as a matrix with one row per
// output element and one column per input element (both flattened in
// row-major order). It makes one reverse pass per output, so it is the
// cheaper choice when outputs are few. If dst is nil a new matrix is
// allocated; otherwise dst must have the right size.
func JacobianRev(dst *mat.Dense, f func(*Var) *Var, x *Tensor) *mat.Dense {
	xp := Param(x)
	y := f(xp)
	m, n := y.Size(), x.Size()
	dst = jacobianDst(dst, m, n)
	seed := New(y.Shape()...)
	wrt := []*Var{xp}
	sw := newSweep(y, wrt)
	for i := range m {
		seed.Data[i] = 1
		g := sw.backward(Const(seed), wrt, false)[0]
		dst.SetRow(i, g.val.Data)
		seed.Data[i] = 0
	}
	return dst
}

// JacobianFwd returns the same matrix as JacobianRev by forward mode: one
// tangent pass per input element, the cheaper choice when inputs are few.
func JacobianFwd(dst *mat.Dense, f func(*Var) *Var, x *Tensor) *mat.Dense {
	xp := Param(x)
	y := f(xp)
	m, n := y.Size(), x.Size()
	dst = jacobianDst(dst, m, n)
	dir := New(x.Shape...)
	order, index := topoIndex(y)
	for j := range n {
		dir.Data[j] = 1
		t := pushForward(order, index, []*Var{xp}, []*Var{Const(dir)}, false)
		dst.SetCol(j, t.val.Data)
		dir.Data[j] = 0
	}
	return dst
}

func jacobianDst(dst *mat.Dense, m, n int) *mat.Dense {
	if m == 0 || n == 0 {
		panic("adjoint: Jacobian of a function with no inputs or no outputs")
	}
	if dst == nil {
		return mat.NewDense(m, n, nil)
	}
	if r, c := dst.Dims(); r != m || c != n {
		panic(fmt.Sprintf("adjoint: Jacobian destination is %d×%d, need %d×%d", r, c, m, n))
	}
	return dst
}

// HVP returns the Hessian-vector product ∇²f(x)·v of a scalar function by
// forward-over-reverse: one tangent pass through the recorded gradient
// computation, about the cost of a few gradients.
func HVP(f func(*Var) *Var, x, v *Tensor) *Tensor {
	return HVPArgs(func(xs ...*Var) *Var { return f(xs[0]) }, []*Tensor{x}, []*Tensor{v})[0]
}

// HVPArgs is HVP for a scalar function of several arguments: it returns the
// blocks (∇²f·v)ᵢ = Σⱼ ∂²f/∂xᵢ∂xⱼ · vⱼ, one per argument with that
// argument's shape, from one recorded gradient and one tangent pass through
// it (forward-over-reverse). There must be one direction per argument, of
// the argument's shape.
func HVPArgs(f func(xs ...*Var) *Var, xs, vs []*Tensor) []*Tensor {
	if len(vs) != len(xs) {
		panic(fmt.Sprintf("adjoint: HVPArgs: %d directions for %d arguments", len(vs), len(xs)))
	}
	l := LayoutOf(xs...)
	ps := params(xs)
	g := l.Join(GradGraph(scalarOut(f(ps...)), ps...)...)
	dirs := make([]*Var, len(vs))
	for i, v := range vs {
		dirs[i] = Const(v)
	}
	return l.Unpack(Tangent(g, ps, dirs, false).val.Data)
}

// HVPRev returns the same product as HVP by reverse-over-reverse: the
// gradient of ⟨∇f(x), v⟩.
func HVPRev(f func(*Var) *Var, x, v *Tensor) *Tensor {
	xp := Param(x)
	g := GradGraph(scalarOut(f(xp)), xp)[0]
	return Grad(Dot(g, Const(v)), xp)[0]
}

// Hessian returns the dense Hessian of a scalar function of x (flattened),
// one reverse pass over the recorded gradient per input element. It is
// meant for small inputs. If dst is nil a new matrix is allocated.
func Hessian(dst *mat.SymDense, f func(*Var) *Var, x *Tensor) *mat.SymDense {
	return HessianArgs(dst, func(xs ...*Var) *Var { return f(xs[0]) }, []*Tensor{x})
}

// HessianArgs returns the dense Hessian of a scalar function of several
// arguments with respect to all of them, flattened and concatenated in order
// (row i belongs to element i of the layout LayoutOf(xs...)), so that the
// blocks ∂²f/∂xᵢ∂xⱼ, mixed ones included, sit side by side. It makes one
// reverse pass over the recorded gradient per element and is meant for
// small inputs. If dst is nil a new matrix is allocated.
func HessianArgs(dst *mat.SymDense, f func(xs ...*Var) *Var, xs []*Tensor) *mat.SymDense {
	l := LayoutOf(xs...)
	n := l.Size()
	if n == 0 {
		panic("adjoint: Hessian of a function of no inputs")
	}
	if dst == nil {
		dst = mat.NewSymDense(n, nil)
	} else if dst.SymmetricDim() != n {
		panic(fmt.Sprintf("adjoint: Hessian destination is %d×%d, need %d×%d", dst.SymmetricDim(), dst.SymmetricDim(), n, n))
	}
	ps := params(xs)
	g := l.Join(GradGraph(scalarOut(f(ps...)), ps...)...)
	seed := New(n)
	rows := make([][]float64, n)
	sw := newSweep(g, ps)
	for i := range n {
		seed.Data[i] = 1
		rows[i] = l.Pack(nil, values(sw.backward(Const(seed), ps, false))...)
		seed.Data[i] = 0
	}
	// Symmetrise: rounding can make H[i][j] and H[j][i] differ in the last
	// bits; the average is the better estimate of both.
	for i := range n {
		for j := i; j < n; j++ {
			dst.SetSym(i, j, (rows[i][j]+rows[j][i])/2)
		}
	}
	return dst
}

// params returns a tracked leaf for each tensor.
func params(ts []*Tensor) []*Var {
	ps := make([]*Var, len(ts))
	for i, t := range ts {
		ps[i] = Param(t)
	}
	return ps
}

func scalarOut(y *Var) *Var {
	if y.Size() != 1 {
		panic(fmt.Sprintf("adjoint: need a scalar function, got output shape %v", y.Shape()))
	}
	return y
}
