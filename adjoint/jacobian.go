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
	order := topoOrder(y)
	for j := range n {
		dir.Data[j] = 1
		t := pushForward(order, []*Var{xp}, []*Var{Const(dir)}, false)
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
	xp := Param(x)
	g := GradGraph(scalarOut(f(xp)), xp)[0]
	return Tangent(g, []*Var{xp}, []*Var{Const(v)}, false).val
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
	n := x.Size()
	if n == 0 {
		panic("adjoint: Hessian of a function of no inputs")
	}
	if dst == nil {
		dst = mat.NewSymDense(n, nil)
	} else if dst.SymmetricDim() != n {
		panic(fmt.Sprintf("adjoint: Hessian destination is %d×%d, need %d×%d", dst.SymmetricDim(), dst.SymmetricDim(), n, n))
	}
	xp := Param(x)
	g := GradGraph(scalarOut(f(xp)), xp)[0]
	seed := New(g.Shape()...)
	rows := make([][]float64, n)
	wrt := []*Var{xp}
	sw := newSweep(g, wrt)
	for i := range n {
		seed.Data[i] = 1
		rows[i] = sw.backward(Const(seed), wrt, false)[0].val.Data
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

func scalarOut(y *Var) *Var {
	if y.Size() != 1 {
		panic(fmt.Sprintf("adjoint: need a scalar function, got output shape %v", y.Shape()))
	}
	return y
}
