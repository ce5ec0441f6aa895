package ode

import "gonum.org/v1/gonum/mat"

// This file exposes the inner steps of the shadowing methods to the tests
// of package ode_test, which check them against dense solves.

// LSSTangentForTest runs LSS's tangent form on one window of prob, whose
// Y0 is taken to be on the attractor, with N steps, the weight alpha and
// the parameter param. It returns the grid times and states, the tangent
// v (vᵢ at i·n), the time dilation η and the derivative of the average.
func LSSTangentForTest(prob Problem, avg *Integral, N int, alpha float64, param int) (t []float64, y [][]float64, v, eta []float64, grad float64, err error) {
	n, np := prob.dims()
	set := Settings{RTol: 1e-10, ATol: 1e-10}
	j := &shadowJob{prob: prob, avg: avg, solver: DP5, set: set, r: resolve(&set, n), n: n, np: np,
		params: []int{param}, T: prob.T1 - prob.T0}
	var st Stats
	g, _, err := j.lssGrid(prob.Y0, N, &st)
	if err != nil {
		return nil, nil, nil, nil, 0, err
	}
	g.alpha2 = alpha * alpha
	S, err := g.schur()
	if err != nil {
		return nil, nil, nil, nil, 0, err
	}
	o := newSysOps(prob.System, prob.P, &st, j.r.fdFloor())
	vs, etas := g.tangentSolve(S, o, j)
	return g.t, g.y, vs[0], etas[0], g.tangentGrad(S, o, j)[0], nil
}

// NILSSCoefficientsForTest solves NILSS's least-squares problem between
// segments: Cᵢ (u×u), dᵢ (u×q), and Rᵢ (u×u), bᵢ (u×q) of the
// renormalisation at the end of segment i, all row-major.
func NILSSCoefficientsForTest(C, d, R, b [][]float64, u, q int) ([][]float64, error) {
	segs := make([]nilssSegment, len(C))
	for i := range segs {
		segs[i] = nilssSegment{C: C[i], d: d[i], R: R[i], b: b[i]}
	}
	return nilssCoefficients(segs, u, q)
}

// BlockTridiagSolveForTest solves S X = rhs for the symmetric
// block-tridiagonal S with diagonal blocks diag[i] and blocks upper[i] at
// (i, i+1), each b×b row-major.
func BlockTridiagSolveForTest(diag, upper [][]float64, b int, rhs *mat.Dense) (*mat.Dense, error) {
	S := newBlockTridiag(len(diag), b)
	for i, d := range diag {
		S.addDiag(i, d)
	}
	for i, u := range upper {
		S.addUpper(i, u)
	}
	if err := S.factorize(); err != nil {
		return nil, err
	}
	x := mat.DenseCopyOf(rhs)
	S.solve(x)
	return x, nil
}
