package adjoint

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// ErrSingular is wrapped by the error ImplicitVJP returns when ∂F/∂u is
// singular or too ill-conditioned for its dense solve. Test for it with
// errors.Is; the message reports the condition number.
var ErrSingular = errors.New("singular matrix")

// Residual is an implicit equation F(u, θ) = 0 that defines u as a function
// of θ (a steady state, a fixed point, the optimality condition of an inner
// problem), given with its vector-Jacobian products. len(F) = len(u).
//
// ImplicitVJP needs only the products; Eval serves the caller's own solver,
// the fixed-point adapter and the residual check in ImplicitResult. No
// method may retain or modify its inputs.
type Residual interface {
	// Eval computes r = F(u, θ).
	Eval(r []float64, u, theta []float64)
	// VJPU accumulates ubar += (∂F/∂u)ᵀ w at (u, θ).
	VJPU(ubar []float64, u, theta, w []float64)
	// VJPTheta accumulates thetabar += (∂F/∂θ)ᵀ w at (u, θ).
	VJPTheta(thetabar []float64, u, theta, w []float64)
}

// ResidualJacobian is an optional capability of a Residual (and of a
// FixedPointMap): the dense Jacobian with respect to u. The dense path of
// ImplicitVJP uses it instead of building the matrix from len(u) VJPs.
type ResidualJacobian interface {
	// JacobianU sets dst, a len(u)×len(u) matrix, to ∂F/∂u at (u, θ).
	JacobianU(dst *mat.Dense, u, theta []float64)
}

// FixedPointMap is a map T(u, θ) whose fixed point u = T(u, θ) defines u,
// given with its vector-Jacobian products. FixedPoint turns it into the
// Residual F = u − T(u, θ).
type FixedPointMap interface {
	// Eval computes dst = T(u, θ).
	Eval(dst []float64, u, theta []float64)
	// VJPU accumulates ubar += (∂T/∂u)ᵀ w at (u, θ).
	VJPU(ubar []float64, u, theta, w []float64)
	// VJPTheta accumulates thetabar += (∂T/∂θ)ᵀ w at (u, θ).
	VJPTheta(thetabar []float64, u, theta, w []float64)
}

// FixedPoint returns the residual F(u, θ) = u − T(u, θ) of a fixed-point
// map, so that ImplicitVJP differentiates u* = T(u*, θ): then
// (I − ∂T/∂u)ᵀ λ = ∂J/∂u and dJ/dθ = λᵀ ∂T/∂θ. If t implements
// ResidualJacobian (with JacobianU giving ∂T/∂u), so does the result.
func FixedPoint(t FixedPointMap) Residual {
	if t == nil {
		panic("adjoint: FixedPoint: nil map")
	}
	if j, ok := t.(ResidualJacobian); ok {
		return fixedPointJac{fixedPoint{t}, j}
	}
	return fixedPoint{t}
}

type fixedPoint struct{ t FixedPointMap }

var _ Residual = fixedPoint{}

func (f fixedPoint) Eval(r []float64, u, theta []float64) {
	f.t.Eval(r, u, theta)
	for i := range r {
		r[i] = u[i] - r[i]
	}
}

func (f fixedPoint) VJPU(ubar []float64, u, theta, w []float64) {
	// ubar += w − (∂T/∂u)ᵀ w, accumulated through a negated w.
	floats.Add(ubar, w)
	nw := make([]float64, len(w))
	floats.ScaleTo(nw, -1, w)
	f.t.VJPU(ubar, u, theta, nw)
}

func (f fixedPoint) VJPTheta(thetabar []float64, u, theta, w []float64) {
	nw := make([]float64, len(w))
	floats.ScaleTo(nw, -1, w)
	f.t.VJPTheta(thetabar, u, theta, nw)
}

type fixedPointJac struct {
	fixedPoint
	j ResidualJacobian
}

var (
	_ Residual         = fixedPointJac{}
	_ ResidualJacobian = fixedPointJac{}
)

func (f fixedPointJac) JacobianU(dst *mat.Dense, u, theta []float64) {
	f.j.JacobianU(dst, u, theta)
	dst.Scale(-1, dst)
	for i := range u {
		dst.Set(i, i, dst.At(i, i)+1)
	}
}

// LinearSolver selects how ImplicitVJP solves the adjoint system.
type LinearSolver int

const (
	// SolverAuto, the zero value, uses SolverDense when len(u) ≤ 500 and
	// SolverGMRES otherwise.
	SolverAuto LinearSolver = iota
	// SolverDense builds ∂F/∂u (from ResidualJacobian if available, else
	// from len(u) VJPs, one per row) and solves with gonum's LU.
	SolverDense
	// SolverGMRES solves matrix-free with restarted GMRES on VJPs.
	SolverGMRES
	// SolverCG solves matrix-free with conjugate gradients on VJPs; ∂F/∂u
	// must be symmetric positive definite.
	SolverCG
)

// String returns the solver's name.
func (s LinearSolver) String() string {
	switch s {
	case SolverAuto:
		return "auto"
	case SolverDense:
		return "dense LU"
	case SolverGMRES:
		return "GMRES"
	case SolverCG:
		return "CG"
	}
	return fmt.Sprintf("LinearSolver(%d)", int(s))
}

// ImplicitSettings configures ImplicitVJP. A nil *ImplicitSettings means the
// zero value, whose fields all select defaults.
type ImplicitSettings struct {
	// Solver selects the linear solver. Zero means SolverAuto.
	Solver LinearSolver
	// Krylov configures GMRES and CG. Nil means their defaults.
	Krylov *KrylovSettings
	// MaxCond is the largest estimated condition number of ∂F/∂u the
	// dense path accepts; above it the result is an error wrapping
	// ErrSingular. Zero means 1e12, where the solve may lose about 4 of
	// the 16 digits.
	MaxCond float64
	// Guess is the initial guess for λ on the Krylov paths (a previous
	// solve's Lambda is a good one). It is not modified. Nil means zero.
	Guess []float64
}

// ImplicitResult reports an implicit adjoint solve.
type ImplicitResult struct {
	// Lambda is the adjoint solution λ of (∂F/∂u)ᵀ λ = ubar.
	Lambda []float64
	// Solver is the solver used (never SolverAuto).
	Solver LinearSolver
	// Iterations is the number of Krylov iterations (0 for SolverDense).
	Iterations int
	// Products is the number of vector-Jacobian products with F: the
	// rows of ∂F/∂u built on the dense path (none with ResidualJacobian)
	// or the operator applications of the Krylov solver, plus the final
	// product with ∂F/∂θ.
	Products int
	// Residual is the relative residual ‖(∂F/∂u)ᵀ λ − ubar‖/‖ubar‖ of the
	// adjoint solve.
	Residual float64
	// Cond is the LU estimate of the condition number of ∂F/∂u on the
	// dense path, and 0 on the Krylov paths.
	Cond float64
	// FNorm is ‖F(u, θ)‖ at the given u: the gradient is that of the
	// solution map only where it is small.
	FNorm float64
}

// ImplicitVJP differentiates through an implicit equation F(u, θ) = 0 that
// the caller has solved for u by any means (Newton, fixed-point iteration,
// an inner optimiser): given ubar = ∂J/∂u for some objective J, it solves
// the adjoint system
//
//	(∂F/∂u)ᵀ λ = ubar
//
// once and accumulates thetabar += −(∂F/∂θ)ᵀ λ, the part of dJ/dθ that
// flows through u (add any direct ∂J/∂θ yourself). The cost is one linear
// solve, independent of len(θ), where finite differences need len(θ)+1
// solves of F = 0.
//
// thetabar may be nil when only λ is wanted. A nil settings means defaults.
// A singular or ill-conditioned ∂F/∂u on the dense path is an error wrapping
// ErrSingular with the condition number; a Krylov solve that does not
// converge is an error wrapping ErrNotConverged; thetabar is left unchanged
// on error. ImplicitVJP panics if the lengths of ubar, thetabar or
// settings.Guess do not match u and θ.
func ImplicitVJP(thetabar []float64, f Residual, u, theta, ubar []float64, settings *ImplicitSettings) (ImplicitResult, error) {
	if f == nil {
		panic("adjoint: ImplicitVJP: nil residual")
	}
	m := len(u)
	if len(ubar) != m {
		panic(fmt.Sprintf("adjoint: ImplicitVJP: len(ubar) = %d, len(u) = %d", len(ubar), m))
	}
	if thetabar != nil && len(thetabar) != len(theta) {
		panic(fmt.Sprintf("adjoint: ImplicitVJP: len(thetabar) = %d, len(theta) = %d", len(thetabar), len(theta)))
	}
	var set ImplicitSettings
	if settings != nil {
		set = *settings
	}
	if set.Guess != nil && len(set.Guess) != m {
		panic(fmt.Sprintf("adjoint: ImplicitVJP: len(Guess) = %d, len(u) = %d", len(set.Guess), m))
	}
	if set.MaxCond == 0 {
		set.MaxCond = 1e12
	}
	solver := set.Solver
	if solver == SolverAuto {
		solver = SolverGMRES
		if m <= 500 {
			solver = SolverDense
		}
	}
	res := ImplicitResult{Solver: solver, Lambda: make([]float64, m)}
	fu := make([]float64, m)
	f.Eval(fu, u, theta)
	res.FNorm = floats.Norm(fu, 2)

	var err error
	switch solver {
	case SolverDense:
		err = implicitDense(&res, f, u, theta, ubar, set.MaxCond)
	case SolverGMRES, SolverCG:
		if set.Guess != nil {
			copy(res.Lambda, set.Guess)
		}
		op := LinearOperatorFunc(func(dst, x []float64) {
			clear(dst)
			f.VJPU(dst, u, theta, x)
		})
		var kr KrylovResult
		if solver == SolverGMRES {
			kr, err = GMRES(res.Lambda, op, ubar, set.Krylov)
		} else {
			kr, err = CG(res.Lambda, op, ubar, set.Krylov)
		}
		res.Iterations, res.Products, res.Residual = kr.Iterations, kr.Products, kr.Residual
		if err != nil {
			err = fmt.Errorf("adjoint: ImplicitVJP: adjoint solve (∂F/∂u)ᵀλ = ubar with %v: %w", solver, err)
		}
	default:
		panic(fmt.Sprintf("adjoint: ImplicitVJP: unknown solver %v", solver))
	}
	if err != nil {
		return res, err
	}
	for i, v := range res.Lambda {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return res, fmt.Errorf("adjoint: ImplicitVJP: adjoint λ[%d] = %v: %w", i, v, ErrNonFinite)
		}
	}
	if thetabar != nil {
		neg := make([]float64, m)
		floats.ScaleTo(neg, -1, res.Lambda)
		f.VJPTheta(thetabar, u, theta, neg)
		res.Products++
	}
	return res, nil
}

// implicitDense solves (∂F/∂u)ᵀ λ = ubar with a dense LU factorisation.
func implicitDense(res *ImplicitResult, f Residual, u, theta, ubar []float64, maxCond float64) error {
	m := len(u)
	if m == 0 {
		return nil
	}
	jac := mat.NewDense(m, m, nil)
	if jf, ok := f.(ResidualJacobian); ok {
		jf.JacobianU(jac, u, theta)
	} else {
		// Row i of ∂F/∂u is (∂F/∂u)ᵀ e_i.
		e := make([]float64, m)
		for i := 0; i < m; i++ {
			e[i] = 1
			f.VJPU(jac.RawRowView(i), u, theta, e)
			e[i] = 0
		}
		res.Products += m
	}
	var lu mat.LU
	lu.Factorize(jac)
	res.Cond = lu.Cond()
	if !(res.Cond <= maxCond) {
		return fmt.Errorf("adjoint: ImplicitVJP: ∂F/∂u (%d×%d) is singular or ill-conditioned: condition number %.3g > %.3g: %w",
			m, m, res.Cond, maxCond, ErrSingular)
	}
	lam := mat.NewVecDense(m, res.Lambda)
	if err := lu.SolveVecTo(lam, true, mat.NewVecDense(m, ubar)); err != nil {
		var c mat.Condition
		if !errors.As(err, &c) || !(float64(c) <= maxCond) {
			return fmt.Errorf("adjoint: ImplicitVJP: dense adjoint solve: %w (%w)", ErrSingular, err)
		}
	}
	// Residual of the solve, from the matrix that was factorised.
	r := mat.NewVecDense(m, nil)
	r.MulVec(jac.T(), lam)
	r.SubVec(r, mat.NewVecDense(m, ubar))
	if bn := floats.Norm(ubar, 2); bn > 0 {
		res.Residual = r.Norm(2) / bn
	}
	return nil
}
