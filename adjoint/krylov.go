package adjoint

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// ErrNotConverged is wrapped by the errors of the iterative solvers when the
// tolerance was not reached within the iteration limit. Test for it with
// errors.Is; the message reports the iterations and the relative residual.
var ErrNotConverged = errors.New("not converged")

// LinearOperator is a square linear map given only by its action, the
// matrix-free form the Krylov solvers need: a Jacobian applied through
// JVPs, its transpose through VJPs, a stencil, a sparse matrix.
type LinearOperator interface {
	// Apply computes dst = A x, overwriting dst. dst and x do not alias.
	Apply(dst, x []float64)
}

// LinearOperatorFunc adapts a function to LinearOperator.
type LinearOperatorFunc func(dst, x []float64)

var _ LinearOperator = LinearOperatorFunc(nil)

// Apply calls f(dst, x).
func (f LinearOperatorFunc) Apply(dst, x []float64) { f(dst, x) }

// KrylovSettings configures GMRES and CG. A nil *KrylovSettings means the
// zero value, whose fields all select defaults.
type KrylovSettings struct {
	// Tol is the relative residual tolerance: the solve stops when
	// ‖b − A x‖ ≤ Tol·‖b‖. Zero means 1e-10.
	Tol float64
	// MaxIter limits the number of iterations (operator applications
	// inside the Krylov iteration, not counting residual checks). Zero
	// means max(10·len(b), 100).
	MaxIter int
	// Restart is GMRES's restart length m: the Krylov basis is rebuilt
	// from the current residual every m iterations, bounding memory at
	// m+1 vectors. CG ignores it. Zero means min(len(b), 50).
	Restart int
	// Precond, if non-nil, applies an approximate inverse M⁻¹ ≈ A⁻¹.
	// GMRES preconditions on the right, so its stopping test still uses
	// the true residual; CG uses it as the standard preconditioned CG and
	// needs M symmetric positive definite. Nil means none.
	Precond LinearOperator
}

// KrylovResult reports the work of a Krylov solve and the residual it
// reached; it is filled in also when an error is returned.
type KrylovResult struct {
	// Iterations is the number of Krylov iterations.
	Iterations int
	// Products is the number of operator applications (A·x), including
	// the residual computations; preconditioner applications are not
	// counted.
	Products int
	// Residual is the relative residual ‖b − A x‖/‖b‖ of the returned x,
	// computed from a true residual (0 when b = 0).
	Residual float64
}

func (s *KrylovSettings) resolve(n int) (tol float64, maxIter, restart int, pc LinearOperator) {
	var set KrylovSettings
	if s != nil {
		set = *s
	}
	tol, maxIter, restart = set.Tol, set.MaxIter, set.Restart
	if tol == 0 {
		tol = 1e-10
	}
	if tol < 0 || math.IsNaN(tol) {
		panic(fmt.Sprintf("adjoint: Krylov tolerance %v is negative", tol))
	}
	if maxIter == 0 {
		maxIter = max(10*n, 100)
	}
	if restart == 0 {
		restart = min(n, 50)
	}
	if maxIter < 0 || restart < 0 {
		panic(fmt.Sprintf("adjoint: Krylov MaxIter %d or Restart %d is negative", set.MaxIter, set.Restart))
	}
	return tol, maxIter, max(restart, 1), set.Precond
}

// krylovStart validates the arguments and forms r = b − A x. It returns the
// norm of b (zero means the answer is x = 0, already written).
func krylovStart(name string, res *KrylovResult, dst []float64, a LinearOperator, b, r []float64) (bnorm float64, err error) {
	if a == nil {
		panic(fmt.Sprintf("adjoint: %s: nil operator", name))
	}
	if len(dst) != len(b) {
		panic(fmt.Sprintf("adjoint: %s: len(dst) = %d, len(b) = %d", name, len(dst), len(b)))
	}
	bnorm = floats.Norm(b, 2)
	if math.IsNaN(bnorm) || math.IsInf(bnorm, 0) {
		return 0, fmt.Errorf("adjoint: %s: right-hand side has norm %v: %w", name, bnorm, ErrNonFinite)
	}
	if bnorm == 0 {
		clear(dst)
		return 0, nil
	}
	trueResidual(res, a, dst, b, r)
	return bnorm, nil
}

// trueResidual sets r = b − A x, counting the product when x ≠ 0.
func trueResidual(res *KrylovResult, a LinearOperator, x, b, r []float64) float64 {
	allZero := true
	for _, v := range x {
		if v != 0 {
			allZero = false
			break
		}
	}
	if allZero {
		copy(r, b)
	} else {
		a.Apply(r, x)
		res.Products++
		for i := range r {
			r[i] = b[i] - r[i]
		}
	}
	return floats.Norm(r, 2)
}

// GMRES solves the linear system A x = b by the restarted generalised
// minimal residual method, GMRES(m): each cycle builds an orthonormal
// Krylov basis by modified Gram–Schmidt (Arnoldi), keeps the Hessenberg
// least-squares problem triangular with Givens rotations (so the residual
// norm is known at every iteration without forming x), and updates x when
// the estimate meets the tolerance or the basis reaches the restart length.
// Convergence is then confirmed on the true residual. A need not be
// symmetric; applying Aᵀ through VJPs solves adjoint systems matrix-free.
//
// dst holds the initial guess on entry (zero it for none) and the solution
// on return. A nil settings means defaults. When the relative residual has
// not reached the tolerance within settings.MaxIter iterations, GMRES
// returns the best x found and an error wrapping ErrNotConverged that
// reports the iterations and the residual. It panics if len(dst) != len(b).
func GMRES(dst []float64, a LinearOperator, b []float64, settings *KrylovSettings) (KrylovResult, error) {
	n := len(b)
	tol, maxIter, m, pc := settings.resolve(n)
	var res KrylovResult
	r := make([]float64, n)
	bnorm, err := krylovStart("GMRES", &res, dst, a, b, r)
	if err != nil || bnorm == 0 {
		return res, err
	}
	beta := floats.Norm(r, 2)
	res.Residual = beta / bnorm
	if res.Residual <= tol {
		return res, nil
	}

	// basis[j] is v_j; hess[j] is column j of the rotated Hessenberg matrix,
	// of length j+2; cs, sn are the Givens rotations; g is the rotated
	// right-hand side β e_1.
	m = min(m, maxIter)
	basis := make([][]float64, m+1)
	hess := make([][]float64, m)
	for j := range hess {
		hess[j] = make([]float64, j+2)
	}
	cs, sn := make([]float64, m), make([]float64, m)
	g, y := make([]float64, m+1), make([]float64, m)
	w := make([]float64, n)
	var z []float64
	if pc != nil {
		z = make([]float64, n)
	}

	for res.Iterations < maxIter {
		if math.IsNaN(beta) || math.IsInf(beta, 0) {
			return res, fmt.Errorf("adjoint: GMRES: residual norm %v after %d iterations: %w", beta, res.Iterations, ErrNonFinite)
		}
		if basis[0] == nil {
			basis[0] = make([]float64, n)
		}
		floats.ScaleTo(basis[0], 1/beta, r)
		clear(g)
		g[0] = beta
		k := 0 // columns of this cycle's least-squares problem
		breakdown := false
		for k < m && res.Iterations < maxIter {
			j := k
			if pc != nil {
				pc.Apply(z, basis[j])
				a.Apply(w, z)
			} else {
				a.Apply(w, basis[j])
			}
			res.Products++
			res.Iterations++
			h := hess[j]
			for i := 0; i <= j; i++ {
				h[i] = floats.Dot(w, basis[i])
				floats.AddScaled(w, -h[i], basis[i])
			}
			hn := floats.Norm(w, 2)
			h[j+1] = hn
			for i := 0; i < j; i++ {
				h[i], h[i+1] = cs[i]*h[i]+sn[i]*h[i+1], -sn[i]*h[i]+cs[i]*h[i+1]
			}
			rr := math.Hypot(h[j], h[j+1])
			if rr == 0 || math.IsNaN(rr) {
				// A maps v_j into the span of the previous basis vectors
				// with a singular projection: this column adds nothing.
				breakdown = true
				break
			}
			cs[j], sn[j] = h[j]/rr, h[j+1]/rr
			h[j], h[j+1] = rr, 0
			g[j+1] = -sn[j] * g[j]
			g[j] *= cs[j]
			k++
			if hn == 0 || math.Abs(g[j+1]) <= tol*bnorm {
				breakdown = hn == 0
				break
			}
			if basis[j+1] == nil {
				basis[j+1] = make([]float64, n)
			}
			floats.ScaleTo(basis[j+1], 1/hn, w)
		}
		if k > 0 {
			// Back-substitute R y = g and update x += M⁻¹ V y.
			for i := k - 1; i >= 0; i-- {
				s := g[i]
				for l := i + 1; l < k; l++ {
					s -= hess[l][i] * y[l]
				}
				y[i] = s / hess[i][i]
			}
			clear(w)
			for i := 0; i < k; i++ {
				floats.AddScaled(w, y[i], basis[i])
			}
			if pc != nil {
				pc.Apply(z, w)
				floats.Add(dst, z)
			} else {
				floats.Add(dst, w)
			}
			a.Apply(r, dst)
			res.Products++
			for i := range r {
				r[i] = b[i] - r[i]
			}
			beta = floats.Norm(r, 2)
			res.Residual = beta / bnorm
			if res.Residual <= tol {
				return res, nil
			}
		}
		if breakdown && k == 0 {
			return res, fmt.Errorf("adjoint: GMRES: breakdown (operator singular on the Krylov space) at relative residual %.3g after %d iterations: %w",
				res.Residual, res.Iterations, ErrNotConverged)
		}
	}
	if math.IsNaN(res.Residual) || math.IsInf(res.Residual, 0) {
		return res, fmt.Errorf("adjoint: GMRES: residual %v after %d iterations: %w", res.Residual, res.Iterations, ErrNonFinite)
	}
	return res, fmt.Errorf("adjoint: GMRES: relative residual %.3g > tolerance %.3g after %d iterations (restart %d): %w",
		res.Residual, tol, res.Iterations, m, ErrNotConverged)
}

// CG solves A x = b for a symmetric positive definite A by the conjugate
// gradient method (preconditioned when settings.Precond is set). It uses
// one operator application per iteration and O(len(b)) memory. When the
// recursively updated residual meets the tolerance, CG confirms it on the
// true residual and restarts from there if rounding has made them differ.
//
// dst holds the initial guess on entry (zero it for none) and the solution
// on return. A nil settings means defaults. Non-convergence within
// settings.MaxIter iterations returns the last x and an error wrapping
// ErrNotConverged with the iterations and the relative residual; a
// direction with pᵀAp ≤ 0 proves A is not positive definite and is reported
// as an error at once. It panics if len(dst) != len(b).
func CG(dst []float64, a LinearOperator, b []float64, settings *KrylovSettings) (KrylovResult, error) {
	n := len(b)
	tol, maxIter, _, pc := settings.resolve(n)
	var res KrylovResult
	r := make([]float64, n)
	bnorm, err := krylovStart("CG", &res, dst, a, b, r)
	if err != nil || bnorm == 0 {
		return res, err
	}
	rnorm := floats.Norm(r, 2)
	res.Residual = rnorm / bnorm
	if res.Residual <= tol {
		return res, nil
	}
	z := r
	if pc != nil {
		z = make([]float64, n)
	}
	p, q := make([]float64, n), make([]float64, n)
	var rz float64
	restart := func() {
		if pc != nil {
			pc.Apply(z, r)
		}
		copy(p, z)
		rz = floats.Dot(r, z)
	}
	restart()
	for res.Iterations < maxIter {
		a.Apply(q, p)
		res.Products++
		res.Iterations++
		pq := floats.Dot(p, q)
		if math.IsNaN(pq) || math.IsInf(pq, 0) {
			return res, fmt.Errorf("adjoint: CG: pᵀAp = %v at iteration %d: %w", pq, res.Iterations, ErrNonFinite)
		}
		if pq <= 0 {
			return res, fmt.Errorf("adjoint: CG: operator not positive definite (pᵀAp = %.3g at iteration %d, relative residual %.3g)",
				pq, res.Iterations, res.Residual)
		}
		alpha := rz / pq
		floats.AddScaled(dst, alpha, p)
		floats.AddScaled(r, -alpha, q)
		rnorm = floats.Norm(r, 2)
		res.Residual = rnorm / bnorm
		if res.Residual <= tol {
			res.Residual = trueResidual(&res, a, dst, b, r) / bnorm
			if res.Residual <= tol {
				return res, nil
			}
			restart()
			continue
		}
		if pc != nil {
			pc.Apply(z, r)
		}
		rzNew := floats.Dot(r, z)
		floats.AddScaledTo(p, z, rzNew/rz, p)
		rz = rzNew
	}
	res.Residual = trueResidual(&res, a, dst, b, r) / bnorm
	if math.IsNaN(res.Residual) || math.IsInf(res.Residual, 0) {
		return res, fmt.Errorf("adjoint: CG: residual %v after %d iterations: %w", res.Residual, res.Iterations, ErrNonFinite)
	}
	return res, fmt.Errorf("adjoint: CG: relative residual %.3g > tolerance %.3g after %d iterations: %w",
		res.Residual, tol, res.Iterations, ErrNotConverged)
}
