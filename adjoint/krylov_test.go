package adjoint

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// engDenseOp applies a dense matrix.
type engDenseOp struct{ a *mat.Dense }

var _ LinearOperator = engDenseOp{}

func (o engDenseOp) Apply(dst, x []float64) {
	mat.NewVecDense(len(dst), dst).MulVec(o.a, mat.NewVecDense(len(x), x))
}

// engNonsymmetric returns a well-conditioned nonsymmetric n×n matrix.
func engNonsymmetric(n int, rnd *rand.Rand) *mat.Dense {
	a := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a.Set(i, j, rnd.NormFloat64()/math.Sqrt(float64(n)))
		}
		a.Set(i, i, a.At(i, i)+3+float64(i%3))
	}
	return a
}

// engLaplacian returns the n×n SPD matrix of −(k u')' with face
// coefficients k (len n+1), Dirichlet ends, unit spacing.
func engLaplacian(k []float64) *mat.Dense {
	n := len(k) - 1
	a := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		a.Set(i, i, k[i]+k[i+1])
		if i > 0 {
			a.Set(i, i-1, -k[i])
		}
		if i < n-1 {
			a.Set(i, i+1, -k[i+1])
		}
	}
	return a
}

func engSolveLU(a *mat.Dense, b []float64) []float64 {
	var x mat.VecDense
	if err := x.SolveVec(a, mat.NewVecDense(len(b), b)); err != nil {
		panic(err)
	}
	return x.RawVector().Data
}

func engRandVec(n int, rnd *rand.Rand) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rnd.NormFloat64()
	}
	return v
}

func engRelErr(got, want []float64) float64 {
	d := make([]float64, len(got))
	floats.SubTo(d, got, want)
	return floats.Norm(d, 2) / floats.Norm(want, 2)
}

func TestGMRESSolves(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	const n = 40
	a := engNonsymmetric(n, rnd)
	b := engRandVec(n, rnd)
	want := engSolveLU(a, b)
	for _, restart := range []int{0, 1, 5, n} {
		x := make([]float64, n)
		res, err := GMRES(x, engDenseOp{a}, b, &KrylovSettings{Restart: restart, Tol: 1e-12, MaxIter: 2000})
		if err != nil {
			t.Fatalf("restart %d: %v", restart, err)
		}
		if e := engRelErr(x, want); e > 1e-10 {
			t.Errorf("restart %d: relative error %g", restart, e)
		}
		if res.Residual > 1e-12 || res.Iterations == 0 || res.Products < res.Iterations {
			t.Errorf("restart %d: result %+v", restart, res)
		}
		if restart == n && res.Iterations > n {
			t.Errorf("full GMRES took %d > n iterations", res.Iterations)
		}
	}
	// An exact initial guess needs no iteration; b = 0 gives x = 0.
	x := append([]float64(nil), want...)
	res, err := GMRES(x, engDenseOp{a}, b, &KrylovSettings{Tol: 1e-8})
	if err != nil || res.Iterations != 0 || res.Products != 1 {
		t.Errorf("exact guess: %+v, %v", res, err)
	}
	x = engRandVec(n, rnd)
	res, err = GMRES(x, engDenseOp{a}, make([]float64, n), nil)
	if err != nil || res.Products != 0 || floats.Norm(x, 2) != 0 {
		t.Errorf("b = 0: %+v, %v, |x| = %g", res, err, floats.Norm(x, 2))
	}
}

func TestCGSolvesAndPreconditions(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	const n = 60
	k := make([]float64, n+1)
	for i := range k {
		k[i] = math.Exp(2 * math.Sin(float64(i))) // coefficients over two decades
	}
	a := engLaplacian(k)
	b := engRandVec(n, rnd)
	want := engSolveLU(a, b)
	jacobi := LinearOperatorFunc(func(dst, x []float64) {
		for i := range x {
			dst[i] = x[i] / a.At(i, i)
		}
	})
	var cgIters []int
	for _, pc := range []LinearOperator{nil, jacobi} {
		for si, solve := range []func([]float64, LinearOperator, []float64, *KrylovSettings) (KrylovResult, error){CG, GMRES} {
			x := make([]float64, n)
			res, err := solve(x, engDenseOp{a}, b, &KrylovSettings{Tol: 1e-11, Precond: pc, Restart: n})
			if err != nil {
				t.Fatalf("precond %v: %v", pc != nil, err)
			}
			if e := engRelErr(x, want); e > 1e-8 {
				t.Errorf("precond %v: relative error %g", pc != nil, e)
			}
			if res.Residual > 1e-11 {
				t.Errorf("precond %v: residual %g", pc != nil, res.Residual)
			}
			if si == 0 {
				cgIters = append(cgIters, res.Iterations)
			}
		}
	}
	if cgIters[1] >= cgIters[0] {
		t.Errorf("Jacobi-preconditioned CG took %d iterations, plain CG %d", cgIters[1], cgIters[0])
	}
	// CG rejects an indefinite operator.
	neg := LinearOperatorFunc(func(dst, x []float64) { floats.ScaleTo(dst, -1, x) })
	_, err := CG(make([]float64, n), neg, b, nil)
	if err == nil || !strings.Contains(err.Error(), "not positive definite") || errors.Is(err, ErrNotConverged) {
		t.Errorf("indefinite CG: %v", err)
	}
}

func TestKrylovNotConverged(t *testing.T) {
	const n = 50
	k := make([]float64, n+1)
	for i := range k {
		k[i] = 1
	}
	a := engLaplacian(k)
	b := make([]float64, n)
	b[n/2] = 1
	for name, solve := range map[string]func([]float64, LinearOperator, []float64, *KrylovSettings) (KrylovResult, error){"CG": CG, "GMRES": GMRES} {
		res, err := solve(make([]float64, n), engDenseOp{a}, b, &KrylovSettings{MaxIter: 3})
		if !errors.Is(err, ErrNotConverged) {
			t.Fatalf("%s: error %v, want ErrNotConverged", name, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "relative residual") || !strings.Contains(msg, "after 3 iterations") || res.Iterations != 3 {
			t.Errorf("%s: message %q, iterations %d", name, msg, res.Iterations)
		}
		if !(res.Residual > 1e-10 && res.Residual < 1) {
			t.Errorf("%s: residual %g", name, res.Residual)
		}
	}
	// A singular operator breaks GMRES down: no progress is possible.
	zero := LinearOperatorFunc(func(dst, x []float64) { clear(dst) })
	_, err := GMRES(make([]float64, n), zero, b, nil)
	if !errors.Is(err, ErrNotConverged) {
		t.Errorf("singular GMRES: %v", err)
	}
	// A NaN right-hand side is a non-finite error.
	b[0] = math.NaN()
	if _, err := GMRES(make([]float64, n), engDenseOp{a}, b, nil); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN b: %v", err)
	}
}
