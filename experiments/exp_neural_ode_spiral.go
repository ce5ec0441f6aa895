package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the neural_ode_spiral experiment: torchdiffeq's
// demonstration (examples/ode_demo.py) of learning a vector field from a
// trajectory of dy/dt = (y³)·A, with the ODE solve as one operation (ode.Op)
// of a traced loss on random short windows; the cost and memory of one
// gradient by each sensitivity method; and the op's gradient against
// ode.Gradient and finite differences.

// nodeConfig is the [params] table of the neural_ode_spiral experiment.
type nodeConfig struct {
	// DataSize is the number of time points of the true trajectory, evenly
	// spaced on [0, T1].
	DataSize int     `toml:"data_size"`
	T1       float64 `toml:"t1"`
	// BatchSize windows of BatchTime consecutive points make one batch.
	BatchSize int `toml:"batch_size"`
	BatchTime int `toml:"batch_time"`
	// Hidden is the width of the vector field's hidden tanh layer.
	Hidden int `toml:"hidden"`
	// InitStd is the standard deviation of the normal initial weights
	// (biases start at zero).
	InitStd float64 `toml:"init_std"`
	// Iterations is the number of Adam steps; the learning rate follows
	// half a cosine from LR down to LRMin.
	Iterations int     `toml:"iterations"`
	LR         float64 `toml:"lr"`
	LRMin      float64 `toml:"lr_min"`
	// RTol and ATol are the tolerances of the training solves (and of the
	// sensitivity-method table).
	RTol float64 `toml:"rtol"`
	ATol float64 `toml:"atol"`
	// Method is the sensitivity method of training: interpolating,
	// backsolve, discrete or forward.
	Method string `toml:"method"`
	// TestEvery is the interval, in iterations, of the test loss on the
	// whole trajectory.
	TestEvery int `toml:"test_every"`
	// Snapshots lists iterations (0 is before training) whose learned
	// trajectories are drawn; the last iteration is always drawn.
	Snapshots []int `toml:"snapshots"`
	// TableBatch is the number of windows of the batch on which the
	// gradient is verified and every sensitivity method takes one gradient.
	TableBatch int `toml:"table_batch"`
	// CheckpointEvery is the interpolating adjoint's checkpoint interval
	// and the k of the discrete adjoint's Every(k) policy in the table;
	// BinomialSnapshots the s of its Binomial(s) policy.
	CheckpointEvery   int `toml:"checkpoint_every"`
	BinomialSnapshots int `toml:"binomial_snapshots"`
	// VerifyRTol and VerifyATol are the tolerances of the verification
	// solves.
	VerifyRTol float64 `toml:"verify_rtol"`
	VerifyATol float64 `toml:"verify_atol"`
	// FDCoords parameters are checked by central differences with step
	// FDStep.
	FDCoords int     `toml:"fd_coords"`
	FDStep   float64 `toml:"fd_step"`
	// GradTol is the allowed relative difference between the op's gradient
	// and ode.Gradient's; FDTol that from central differences; MethodsTol
	// that of every method's gradient at the training tolerances from the
	// verified gradient.
	GradTol    runner.Tol `toml:"grad_tol"`
	FDTol      runner.Tol `toml:"fd_tol"`
	MethodsTol runner.Tol `toml:"methods_tol"`
}

// nodeMethods are the training methods by name.
var nodeMethods = []string{"interpolating", "backsolve", "discrete", "forward"}

// Validate checks every key's range.
func (c nodeConfig) Validate() error {
	errs := []error{
		runner.InRange("data_size", c.DataSize, 20, 100000),
		runner.InRange("t1", c.T1, 0.1, 1000.0),
		runner.InRange("batch_size", c.BatchSize, 1, 1000),
		runner.InRange("table_batch", c.TableBatch, 1, 1000),
		runner.InRange("hidden", c.Hidden, 1, 1000),
		runner.InRange("init_std", c.InitStd, 1e-6, 10.0),
		runner.InRange("iterations", c.Iterations, 1, 1000000),
		runner.InRange("lr", c.LR, 1e-8, 1.0),
		runner.InRange("rtol", c.RTol, 1e-13, 1e-2),
		runner.InRange("atol", c.ATol, 1e-16, 1e-2),
		runner.OneOf("method", c.Method, nodeMethods...),
		runner.InRange("test_every", c.TestEvery, 1, 1000000),
		runner.InRange("checkpoint_every", c.CheckpointEvery, 1, 100000),
		runner.InRange("binomial_snapshots", c.BinomialSnapshots, 1, 100000),
		runner.InRange("verify_rtol", c.VerifyRTol, 1e-13, 1e-4),
		runner.InRange("verify_atol", c.VerifyATol, 1e-16, 1e-4),
		runner.InRange("fd_coords", c.FDCoords, 1, 10000),
		runner.InRange("fd_step", c.FDStep, 1e-8, 1e-1),
		runner.InRange("grad_tol", c.GradTol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("methods_tol", c.MethodsTol, 0, 1),
	}
	if err := runner.InRange("lr", c.LR, 1e-8, 1.0); err == nil {
		errs = append(errs, runner.InRange("lr_min", c.LRMin, 0, c.LR))
	}
	if err := runner.InRange("data_size", c.DataSize, 20, 100000); err == nil {
		// A window needs two points, and there must be at least
		// batch_size distinct window starts.
		errs = append(errs, runner.InRange("batch_time", c.BatchTime, 2, c.DataSize/2))
		if c.BatchTime >= 2 && c.BatchTime <= c.DataSize/2 {
			for _, k := range []struct {
				key string
				v   int
			}{{"batch_size", c.BatchSize}, {"table_batch", c.TableBatch}} {
				if k.v < 1 || k.v > c.DataSize-c.BatchTime {
					errs = append(errs, runner.ParamErrorf(k.key, "must be between 1 and data_size − batch_time = %d (distinct window starts), got %d", c.DataSize-c.BatchTime, k.v))
				}
			}
		}
	}
	if err := runner.InRange("iterations", c.Iterations, 1, 1000000); err == nil {
		for i, s := range c.Snapshots {
			errs = append(errs, runner.InRange(fmt.Sprintf("snapshots[%d]", i), s, 0, c.Iterations))
		}
		if !slices.IsSorted(c.Snapshots) {
			errs = append(errs, runner.ParamErrorf("snapshots", "must be increasing, got %v", c.Snapshots))
		}
	}
	if err := runner.InRange("hidden", c.Hidden, 1, 1000); err == nil {
		errs = append(errs, runner.InRange("fd_coords", c.FDCoords, 1, 5*c.Hidden+2))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[nodeConfig, nodeResult]{
		Name:    "neural_ode_spiral",
		Theme:   "ode",
		Summary: "torchdiffeq's spiral demo: an MLP vector field learned with the ODE solve as an op inside a traced loss on random windows; the cost and memory of one gradient by each sensitivity method; the op's gradient against ode.Gradient and finite differences.",
		Title: func(c nodeConfig) string {
			return fmt.Sprintf("A neural ODE learns the spiral dy/dt = y³A (%d iterations)", c.Iterations)
		},
		Headline: "test loss after training",
		Defaults: func() nodeConfig {
			return nodeConfig{
				DataSize: 1000, T1: 25, BatchSize: 20, BatchTime: 10, Hidden: 50, InitStd: 0.1,
				Iterations: 500, LR: 0.01, LRMin: 1e-4, RTol: 1e-7, ATol: 1e-9, Method: "interpolating",
				TestEvery: 20, Snapshots: []int{0, 100}, TableBatch: 20, CheckpointEvery: 4, BinomialSnapshots: 3,
				VerifyRTol: 1e-10, VerifyATol: 1e-12, FDCoords: 6, FDStep: 1e-4,
				GradTol: 1e-9, FDTol: 1e-6, MethodsTol: 1e-5,
			}
		},
		Quick: func(c *nodeConfig) {
			c.Iterations = min(c.Iterations, 40)
			c.BatchSize = min(c.BatchSize, 5)
			c.TableBatch = min(c.TableBatch, 2)
			c.Snapshots = slices.DeleteFunc(c.Snapshots, func(s int) bool { return s > c.Iterations })
			c.FDCoords = min(c.FDCoords, 4)
		},
		Compute: computeNeuralODE,
		Figures: nodeFigures,
		Report:  nodeReport,
	})
}

// nodeA is the true dynamics' matrix: dy/dt = (y³)·A, y a row vector.
var nodeA = [2][2]float64{{-0.1, 2.0}, {-2.0, -0.1}}

// nodeTruth is the true vector field, dy/dt = (y³)·A with y³ elementwise.
type nodeTruth struct{}

var _ ode.System = nodeTruth{}

// Dims returns 2 states and no parameters.
func (nodeTruth) Dims() (n, np int) { return 2, 0 }

// Eval writes (y³)·A.
func (nodeTruth) Eval(dst []float64, _ float64, y, _ []float64) {
	a, b := y[0]*y[0]*y[0], y[1]*y[1]*y[1]
	dst[0] = a*nodeA[0][0] + b*nodeA[1][0]
	dst[1] = a*nodeA[0][1] + b*nodeA[1][1]
}

// nodeY0 is the initial state of the true trajectory.
var nodeY0 = []float64{2, 0}

// nodeLayout is the layout of the vector field's parameters: W1 (2×h),
// b1 (h), W2 (h×2), b2 (2).
func nodeLayout(hidden int) adjoint.Layout {
	return adjoint.NewLayout([]int{2, hidden}, []int{hidden}, []int{hidden, 2}, []int{2})
}

// nodeField is the learned vector field f(y) = tanh(y³·W1 + b1)·W2 + b2
// (torchdiffeq's ODEFunc: Linear(2, h), Tanh, Linear(h, 2) on y³), applied
// to batch states of 2 components each, stacked into one state of 2·batch
// elements: one ODE for all windows of a batch, as torchdiffeq solves them.
func nodeField(lay adjoint.Layout, batch int) *ode.Traced {
	return &ode.Traced{N: 2 * batch, NP: lay.Size(), F: func(_, y, p *adjoint.Var) *adjoint.Var {
		w := lay.Vars(p)
		cube := adjoint.PowConst(adjoint.Reshape(y, batch, 2), 3)
		h := adjoint.Tanh(adjoint.Add(adjoint.MatMul(cube, w[0]), w[1]))
		return adjoint.Reshape(adjoint.Add(adjoint.MatMul(h, w[2]), w[3]), 2*batch)
	}}
}

// nodeSensitivity returns a training method by name.
func nodeSensitivity(name string, every int) ode.Sensitivity {
	switch name {
	case "backsolve":
		return &ode.Backsolve{}
	case "discrete":
		return &ode.Discrete{Policy: adjoint.Every(every)}
	case "forward":
		return &ode.Forward{}
	}
	return &ode.Interpolating{CheckpointEvery: every}
}

// nodeBatch is a batch of windows: their initial states (2 per window) and
// the observed states, [BatchTime, 2·BatchSize] row-major (row k holds
// every window's state k steps after its start).
type nodeBatch struct {
	starts []int
	y0     []float64
	data   *adjoint.Tensor
}

// nodeBatchOf cuts the windows starting at the given indices out of the
// true trajectory.
func nodeBatchOf(truth [][]float64, starts []int, batchTime int) nodeBatch {
	b := len(starts)
	nb := nodeBatch{starts: starts, y0: make([]float64, 2*b), data: adjoint.New(batchTime, 2*b)}
	for j, s := range starts {
		copy(nb.y0[2*j:], truth[s])
		for k := range batchTime {
			copy(nb.data.Data[k*2*b+2*j:], truth[s+k])
		}
	}
	return nb
}

// nodeLoss is torchdiffeq's loss, the mean absolute error of the op's
// solution over the batch, as a traced value.
func nodeLoss(op *ode.Op, nb nodeBatch, theta *adjoint.Var) (*adjoint.Var, error) {
	states, err := op.Solve(adjoint.Const(adjoint.FromData(nb.y0, len(nb.y0))), theta)
	if err != nil {
		return nil, err
	}
	return adjoint.Mean(adjoint.Abs(adjoint.Sub(states, adjoint.Const(nb.data)))), nil
}

// nodeL1 is the same loss as an ode.Cost for ode.Gradient: observation i
// contributes Σ|y − dᵢ| / (BatchTime·2·BatchSize), with the derivative
// sign(y − dᵢ) (zero at zero, as adjoint.Abs).
func nodeL1(times []float64, nb nodeBatch) *ode.Observations {
	m := nb.data.Shape[1]
	scale := 1 / float64(len(times)*m)
	row := func(i int) []float64 { return nb.data.Data[i*m : (i+1)*m] }
	return &ode.Observations{
		Times: times,
		G: func(i int, y, _ []float64) float64 {
			var s float64
			for k, d := range row(i) {
				s += math.Abs(y[k] - d)
			}
			return s * scale
		},
		Grad: func(gy, _ []float64, i int, y, _ []float64) {
			for k, d := range row(i) {
				if r := y[k] - d; r != 0 {
					gy[k] += math.Copysign(scale, r)
				}
			}
		},
	}
}

// nodeSnapshot is the learned trajectory from y₀ at one iteration.
type nodeSnapshot struct {
	iter  int
	y     [][]float64 // at every data time; nil if the solve failed
	loss  float64     // test loss (NaN if the solve failed)
	orbit float64     // orbit error (NaN if the solve failed)
}

// nodeOrbitRefine is how many times denser than the data the true orbit is
// sampled for the orbit error.
const nodeOrbitRefine = 10

// nodeOrbitError is the mean distance of the points of a learned
// trajectory from the true orbit, a polyline through dense samples of the
// true trajectory: how well the learned field reproduces the shape of the
// spiral, whatever the timing along it (the test loss counts both).
func nodeOrbitError(learned, orbit [][]float64) float64 {
	var sum float64
	for _, p := range learned {
		best := math.Inf(1)
		for i := 1; i < len(orbit); i++ {
			a, b := orbit[i-1], orbit[i]
			dx, dy := b[0]-a[0], b[1]-a[1]
			u := 0.0
			if l2 := dx*dx + dy*dy; l2 > 0 {
				u = min(1, max(0, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
			}
			ex, ey := p[0]-a[0]-u*dx, p[1]-a[1]-u*dy
			best = min(best, ex*ex+ey*ey)
		}
		sum += math.Sqrt(best)
	}
	return sum / float64(len(learned))
}

// nodeMethodRun is one gradient of the training loss by one method.
type nodeMethodRun struct {
	name      string
	fwd, bwd  ode.Stats
	work      int // floats of the gradient pass's integrated or propagated state
	grad      []float64
	seconds   float64
	reps      int
	stateSize int // n, the length of a stored state vector
}

// nodeResult is what computeNeuralODE finds.
type nodeResult struct {
	np            int
	times         []float64   // the data times
	truth         [][]float64 // the true trajectory at the data times
	trainLoss     []float64   // batch loss at each iteration
	testIters     []int
	testLoss      []float64
	snapshots     []nodeSnapshot // increasing iterations, the last one last
	fwdSteps      int            // forward steps of all training solves
	bwdSteps      int            // backward steps of all training gradients
	trainSeconds  float64
	methods       []nodeMethodRun
	verifyStarts  []int      // the windows of the verification and method-table batch
	initial       *nodeCheck // at the initial parameters, with finite differences
	trained       *nodeCheck // at the trained parameters, the methods' reference
	verifySeconds float64
}

func computeNeuralODE(env *runner.Env, c nodeConfig) (*nodeResult, error) {
	res := &nodeResult{}
	for i := range c.DataSize {
		res.times = append(res.times, c.T1*float64(i)/float64(c.DataSize-1))
	}
	sol, err := ode.Solve(ode.Problem{System: nodeTruth{}, T0: 0, T1: c.T1, Y0: nodeY0}, ode.DP5,
		&ode.Settings{RTol: 1e-10, ATol: 1e-12, SaveAt: res.times})
	if err != nil {
		return nil, fmt.Errorf("the true trajectory: %w", err)
	}
	res.truth = sol.Y
	var dense []float64
	for i := range nodeOrbitRefine*(c.DataSize-1) + 1 {
		dense = append(dense, c.T1*float64(i)/float64(nodeOrbitRefine*(c.DataSize-1)))
	}
	orbit, err := ode.Solve(ode.Problem{System: nodeTruth{}, T0: 0, T1: c.T1, Y0: nodeY0}, ode.DP5,
		&ode.Settings{RTol: 1e-10, ATol: 1e-12, SaveAt: dense})
	if err != nil {
		return nil, fmt.Errorf("the true orbit: %w", err)
	}

	lay := nodeLayout(c.Hidden)
	res.np = lay.Size()
	initRand, batchRand, verifyRand := env.Rand(), env.Rand(), env.Rand()
	theta := adjoint.New(lay.Size())
	for _, part := range []int{0, 2} { // weights N(0, init_std²), biases zero
		for i := range lay.Part(theta.Data, part) {
			lay.Part(theta.Data, part)[i] = c.InitStd * initRand.NormFloat64()
		}
	}

	field := nodeField(lay, c.BatchSize)
	single := nodeField(lay, 1)
	winTimes := res.times[:c.BatchTime]
	set := &ode.Settings{RTol: c.RTol, ATol: c.ATol}
	op := &ode.Op{System: field, T0: 0, T1: winTimes[len(winTimes)-1], Times: winTimes,
		Method: nodeSensitivity(c.Method, c.CheckpointEvery), Settings: set}
	opt := &nn.Scheduled{Optimizer: nn.NewAdam(c.LR), Schedule: nn.WarmupCosine{Base: c.LR, Min: c.LRMin, Total: max(c.Iterations, 1)}}

	test := func(iter int) nodeSnapshot {
		s, err := ode.Solve(ode.Problem{System: single, T0: 0, T1: c.T1, Y0: nodeY0, P: theta.Data}, ode.DP5,
			&ode.Settings{RTol: c.RTol, ATol: c.ATol, SaveAt: res.times})
		if err != nil { // a learned field may blow up: recorded as NaN, drawn as missing
			return nodeSnapshot{iter: iter, loss: math.NaN(), orbit: math.NaN()}
		}
		var l float64
		for i, y := range s.Y {
			l += math.Abs(y[0]-res.truth[i][0]) + math.Abs(y[1]-res.truth[i][1])
		}
		return nodeSnapshot{iter: iter, y: s.Y, loss: l / float64(2*len(s.Y))}
	}
	observe := func(iter int) {
		if iter%c.TestEvery == 0 || iter == c.Iterations || slices.Contains(c.Snapshots, iter) {
			s := test(iter)
			if iter%c.TestEvery == 0 || iter == c.Iterations {
				res.testIters = append(res.testIters, iter)
				res.testLoss = append(res.testLoss, s.loss)
			}
			if slices.Contains(c.Snapshots, iter) || iter == c.Iterations {
				if s.y != nil {
					s.orbit = nodeOrbitError(s.y, orbit.Y)
				}
				res.snapshots = append(res.snapshots, s)
			}
		}
	}

	initial := slices.Clone(theta.Data) // θ before training
	start := time.Now()
	observe(0)
	for it := 1; it <= c.Iterations; it++ {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(it-1, c.Iterations+2, fmt.Sprintf("iteration %d", it))
		nb := nodeBatchOf(res.truth, batchRand.Perm(c.DataSize - c.BatchTime)[:c.BatchSize], c.BatchTime)
		pv := adjoint.Param(theta)
		loss, err := nodeLoss(op, nb, pv)
		if err != nil {
			return nil, fmt.Errorf("training iteration %d: %w", it, err)
		}
		g := adjoint.Grad(loss, pv)[0]
		if err := op.Err(); err != nil {
			return nil, fmt.Errorf("training iteration %d, gradient: %w", it, err)
		}
		opt.Step([]*adjoint.Tensor{theta}, []*adjoint.Tensor{g})
		res.trainLoss = append(res.trainLoss, loss.Item())
		observe(it)
	}
	res.trainSeconds = time.Since(start).Seconds()
	st := op.Stats()
	res.fwdSteps, res.bwdSteps = st.Forward.Steps, st.Backward.Steps

	// One batch for the checks and the method table. Finite differences are
	// taken at the initial parameters, where no residual is near zero: after
	// training, some residuals are within a step's effect of zero, where the
	// loss's |·| has kinks that differences measure instead of the gradient.
	env.Progress(c.Iterations, c.Iterations+2, "verification")
	vb := nodeBatchOf(res.truth, verifyRand.Perm(c.DataSize - c.BatchTime)[:c.TableBatch], c.BatchTime)
	res.verifyStarts = vb.starts
	tableField := nodeField(lay, c.TableBatch)
	start = time.Now()
	if res.initial, err = nodeVerify(env, c, tableField, initial, vb, winTimes, nodeCoords(env, c)); err != nil {
		return nil, fmt.Errorf("at the initial parameters: %w", err)
	}
	if res.trained, err = nodeVerify(env, c, tableField, theta.Data, vb, winTimes, nil); err != nil {
		return nil, fmt.Errorf("at the trained parameters: %w", err)
	}
	res.verifySeconds = time.Since(start).Seconds()

	env.Progress(c.Iterations+1, c.Iterations+2, "sensitivity methods")
	if err := nodeCompareMethods(env, c, res, tableField, theta.Data, vb); err != nil {
		return nil, err
	}
	return res, nil
}

// nodeCheck is the op's gradient of the loss on one batch at the
// verification tolerances, checked against ode.Gradient and, if coords is
// not empty, central differences.
type nodeCheck struct {
	opGrad   []float64 // reverse mode through the op
	odeGrad  []float64 // ode.Gradient with the same cost
	coords   []int     // parameters checked by central differences
	fdGrad   []float64 // central differences at coords
	minResid float64   // smallest |ŷ − y| after the windows' first point
}

// nodeVerify computes a nodeCheck at theta.
func nodeVerify(env *runner.Env, c nodeConfig, field *ode.Traced, theta []float64, vb nodeBatch, times []float64, coords []int) (*nodeCheck, error) {
	set := &ode.Settings{RTol: c.VerifyRTol, ATol: c.VerifyATol}
	op := &ode.Op{System: field, T0: 0, T1: times[len(times)-1], Times: times, Settings: set}
	pv := adjoint.Param(adjoint.FromData(slices.Clone(theta), len(theta)))
	states, err := op.Solve(adjoint.Const(adjoint.FromData(vb.y0, len(vb.y0))), pv)
	if err != nil {
		return nil, fmt.Errorf("verification solve: %w", err)
	}
	loss := adjoint.Mean(adjoint.Abs(adjoint.Sub(states, adjoint.Const(vb.data))))
	ck := &nodeCheck{opGrad: adjoint.Grad(loss, pv)[0].Data, coords: coords, minResid: math.Inf(1)}
	if err := op.Err(); err != nil {
		return nil, fmt.Errorf("verification gradient: %w", err)
	}
	m := vb.data.Shape[1]
	for i := m; i < len(vb.data.Data); i++ { // row 0 is y₀ itself: zero for every θ
		ck.minResid = min(ck.minResid, math.Abs(states.Value().Data[i]-vb.data.Data[i]))
	}
	prob := ode.Problem{System: field, T0: 0, T1: times[len(times)-1], Y0: vb.y0, P: theta}
	g, err := ode.Gradient(prob, ode.Cost{Observations: nodeL1(times, vb)}, ode.DP5, &ode.Interpolating{}, set)
	if err != nil {
		return nil, fmt.Errorf("verification by ode.Gradient: %w", err)
	}
	if math.Abs(g.Value-loss.Item()) > 1e-12*math.Abs(loss.Item()) {
		return nil, fmt.Errorf("verification: ode.Gradient's cost %v differs from the op's loss %v", g.Value, loss.Item())
	}
	ck.odeGrad = g.DP

	var ferr error
	lossAt := func(x []float64) float64 {
		l, err := nodeLoss(op, vb, adjoint.Const(adjoint.FromData(x, len(x))))
		if err != nil {
			ferr = err
			return math.NaN()
		}
		return l.Item()
	}
	for _, k := range coords {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		x := slices.Clone(theta)
		d := fd.Derivative(func(v float64) float64 { x[k] = v; return lossAt(x) }, theta[k],
			&fd.Settings{Formula: fd.Central, Step: c.FDStep})
		ck.fdGrad = append(ck.fdGrad, d)
	}
	if ferr != nil {
		return nil, fmt.Errorf("finite differences: %w", ferr)
	}
	return ck, nil
}

// nodeCoords returns the parameters checked by finite differences: the
// first of each tensor, then others drawn at random.
func nodeCoords(env *runner.Env, c nodeConfig) []int {
	lay := nodeLayout(c.Hidden)
	coords := []int{lay.Offset(0), lay.Offset(1), lay.Offset(2), lay.Offset(3)}[:min(4, c.FDCoords)]
	rng := env.Rand()
	for len(coords) < c.FDCoords {
		if k := rng.IntN(lay.Size()); !slices.Contains(coords, k) {
			coords = append(coords, k)
		}
	}
	return coords
}

// nodeCompareMethods takes one gradient of the loss on the verification
// batch with every sensitivity method at the training tolerances.
func nodeCompareMethods(env *runner.Env, c nodeConfig, res *nodeResult, field *ode.Traced, theta []float64, vb nodeBatch) error {
	times := res.times[:c.BatchTime]
	n, np := field.Dims()
	k, s := c.CheckpointEvery, c.BinomialSnapshots
	methods := []struct {
		name string
		m    func() ode.Sensitivity
		work int
	}{
		{fmt.Sprintf("interpolating adjoint, checkpoint every %d steps", k), func() ode.Sensitivity { return &ode.Interpolating{CheckpointEvery: k} }, n + np},
		{"interpolating adjoint, dense output of every step", func() ode.Sensitivity { return &ode.Interpolating{CheckpointEvery: -1} }, n + np},
		{"backsolve adjoint", func() ode.Sensitivity { return &ode.Backsolve{} }, 2*n + np},
		{"discrete adjoint, store all", func() ode.Sensitivity { return &ode.Discrete{Policy: adjoint.StoreAll()} }, n + np},
		{fmt.Sprintf("discrete adjoint, Every(%d)", k), func() ode.Sensitivity { return &ode.Discrete{Policy: adjoint.Every(k)} }, n + np},
		{fmt.Sprintf("discrete adjoint, Binomial(%d)", s), func() ode.Sensitivity { return &ode.Discrete{Policy: adjoint.Binomial(s)} }, n + np},
		{"forward sensitivities", func() ode.Sensitivity { return &ode.Forward{} }, n * (1 + n + np)},
	}
	set := &ode.Settings{RTol: c.RTol, ATol: c.ATol}
	for _, m := range methods {
		run := nodeMethodRun{name: m.name, work: m.work, stateSize: n}
		sec, err := bestTime(env.Context(), 300*time.Millisecond, 5, func() error {
			op := &ode.Op{System: field, T0: 0, T1: times[len(times)-1], Times: times, Method: m.m(), Settings: set}
			pv := adjoint.Param(adjoint.FromData(slices.Clone(theta), len(theta)))
			loss, err := nodeLoss(op, vb, pv)
			if err != nil {
				return err
			}
			run.grad = adjoint.Grad(loss, pv)[0].Data
			if err := op.Err(); err != nil {
				return err
			}
			st := op.Stats()
			run.fwd, run.bwd = st.Forward, st.Backward
			run.reps++
			return nil
		})
		if err != nil {
			return fmt.Errorf("one gradient by the %s: %w", m.name, err)
		}
		run.seconds = sec
		res.methods = append(res.methods, run)
	}
	return nil
}

// nodePhaseMargin is how far, as a fraction of the true trajectory's
// extent, a learned trajectory may leave the true one's bounding box in the
// phase portrait: beyond, it is cut, so that a diverging early model does
// not shrink the spiral to a corner of the figure.
const nodePhaseMargin = 0.25

// phaseCut returns how many points of a snapshot's trajectory the phase
// portrait draws: those before it first leaves the true trajectory's
// bounding box widened by nodePhaseMargin on every side.
func (res *nodeResult) phaseCut(s nodeSnapshot) int {
	lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, y := range res.truth {
		for k := range 2 {
			lo[k], hi[k] = min(lo[k], y[k]), max(hi[k], y[k])
		}
	}
	for i, y := range s.y {
		for k := range 2 {
			m := nodePhaseMargin * (hi[k] - lo[k])
			if y[k] < lo[k]-m || y[k] > hi[k]+m {
				return i
			}
		}
	}
	return len(s.y)
}

// nodeSnapFile is the trajectory figure of a snapshot.
func nodeSnapFile(iter int) string { return fmt.Sprintf("trajectories_%05d.png", iter) }

func nodeFigures(dir runner.Dir, c nodeConfig, res *nodeResult) error {
	col := func(ys [][]float64, k int) []float64 {
		out := make([]float64, len(ys))
		for i, y := range ys {
			out[i] = y[k]
		}
		return out
	}
	phase := []plots.Series{{Name: "true", X: col(res.truth, 0), Y: col(res.truth, 1), Reference: true}}
	for _, s := range res.snapshots {
		if s.y == nil {
			phase = append(phase, plots.Series{Name: fmt.Sprintf("iteration %d (solve failed)", s.iter)})
			continue
		}
		k := res.phaseCut(s)
		phase = append(phase, plots.Series{Name: fmt.Sprintf("iteration %d", s.iter), X: col(s.y[:k], 0), Y: col(s.y[:k], 1)})
	}
	if _, err := plots.Save(dir.Path("phase.png"), plots.Line{
		X: plots.Axis{Label: "x"}, Y: plots.Axis{Label: "y"}, Series: phase, Legend: plots.Outside,
	}, &plots.Options{WidthPx: 800, HeightPx: 560}); err != nil {
		return err
	}
	for _, s := range res.snapshots {
		series := []plots.Series{
			{Name: "x true", X: res.times, Y: col(res.truth, 0), Reference: true, Dash: plots.Solid},
			{Name: "y true", X: res.times, Y: col(res.truth, 1), Reference: true, Dash: plots.Dashed},
		}
		if s.y != nil {
			series = append(series,
				plots.Series{Name: "x learned", X: res.times, Y: col(s.y, 0), Color: 1, Dash: plots.Solid},
				plots.Series{Name: "y learned", X: res.times, Y: col(s.y, 1), Color: 2, Dash: plots.Dashed})
		}
		if _, err := plots.Save(dir.Path(nodeSnapFile(s.iter)), plots.Line{
			Title: fmt.Sprintf("iteration %d", s.iter),
			X:     plots.Axis{Label: "t"}, Y: plots.Axis{Label: "state"}, Series: series, Legend: plots.Outside,
		}, &plots.Options{WidthPx: 800, HeightPx: 340}); err != nil {
			return err
		}
	}
	iters := make([]float64, len(res.trainLoss))
	for i := range iters {
		iters[i] = float64(i + 1)
	}
	testX := make([]float64, len(res.testIters))
	for i, it := range res.testIters {
		testX[i] = float64(it)
	}
	_, err := plots.Save(dir.Path("loss.png"), plots.Line{
		X: plots.Axis{Label: "iteration"}, Y: plots.Axis{Label: "mean |ŷ − y|", Log: true},
		Series: []plots.Series{
			{Name: "training batch (windows)", X: iters, Y: res.trainLoss},
			{Name: "test (whole trajectory)", X: testX, Y: res.testLoss, Points: true},
		},
	}, &plots.Options{WidthPx: 800, HeightPx: 440})
	return err
}

func nodeReport(rep *runner.Report, c nodeConfig, res *nodeResult) {
	rep.Heading("The spiral")
	rep.Paraf("torchdiffeq's demonstration (`examples/ode_demo.py`): the true dynamics dy/dt = (y³)·A with "+
		"A = [[−0.1, 2.0], [−2.0, −0.1]] (y a row vector, y³ elementwise), y(0) = (2, 0), observed at %d evenly spaced times "+
		"on [0, %g] (solved with DP5 at rtol 1e-10). The model is torchdiffeq's: f(y) = tanh(y³·W1 + b1)·W2 + b2 with a hidden "+
		"layer of %d units, %d parameters, weights drawn from N(0, %g²), biases zero. Each iteration draws %d distinct windows of "+
		"%d consecutive points (torchdiffeq's `get_batch`), solves all of them from their first point as one ODE of %d states "+
		"through the solve op (`ode.Op`, DP5, rtol %g, atol %g as torchdiffeq's defaults, gradient by the %s method), and takes "+
		"the loss mean |ŷ − y| over the batch, written with adjoint operations on the op's output. One difference from "+
		"torchdiffeq: the optimiser is Adam with a cosine learning rate from %g to %g over %d iterations (`nn.Adam`, "+
		"`nn.WarmupCosine`) instead of RMSprop at 1e-3, which this toolkit does not have.",
		c.DataSize, c.T1, c.Hidden, res.np, c.InitStd, c.BatchSize, c.BatchTime, 2*c.BatchSize, c.RTol, c.ATol, c.Method,
		c.LR, c.LRMin, c.Iterations)

	first, last := res.testLoss[0], res.testLoss[len(res.testLoss)-1]
	best := 0
	for i, l := range res.testLoss {
		if l < res.testLoss[best] {
			best = i
		}
	}
	rep.Paraf("The test loss — mean |ŷ(t) − y(t)| over all %d points of the whole trajectory solved from y(0) with the "+
		"learned field — %s from %s before training to %s after %d iterations (lowest %s, at iteration %d). The last "+
		"20 training batches average %s: a window is short (%s time units), so a batch loss is far smaller than the test "+
		"loss, in which an error of timing accumulates along the trajectory.",
		c.DataSize, runner.Choose(last < first, "falls", "does not fall"), runner.Num(first), runner.Num(last), c.Iterations,
		runner.Num(res.testLoss[best]), res.testIters[best], runner.Num(nodeMeanTail(res.trainLoss, 20)), runner.Num(res.times[c.BatchTime-1]))
	final := res.snapshots[len(res.snapshots)-1]
	rep.Paraf("The shape of the learned spiral, whatever the timing along it, is measured by the *orbit error*: the mean "+
		"distance of the learned trajectory's points from the true orbit (a polyline through %d times as many samples of "+
		"the true trajectory as the data). After %d iterations it is %s, against a test loss of %s: %s.",
		nodeOrbitRefine, final.iter, runner.Num(final.orbit), runner.Num(final.loss),
		runner.Choose(final.orbit < final.loss, "the learned orbit lies closer to the true one than the learned trajectory does to the true trajectory at equal times, so much of the test loss is an error of timing (phase) rather than of shape",
			"the orbit is no closer than the trajectories at equal times"))
	var cuts []string
	for _, s := range res.snapshots {
		if k := res.phaseCut(s); s.y != nil && k < len(s.y) {
			cuts = append(cuts, fmt.Sprintf("iteration %d's at t = %.3g", s.iter, res.times[k]))
		}
	}
	phaseCap := fmt.Sprintf("Phase portrait: the true trajectory (black) and the learned ones from the same y(0) at iterations %s.", nodeIters(res.snapshots))
	if len(cuts) > 0 {
		phaseCap += fmt.Sprintf(" A learned trajectory is drawn until it leaves the true one's bounding box widened by %g%% of its "+
			"extent on each side: %s (its whole course is in its own figure below).", 100*nodePhaseMargin, strings.Join(cuts, ", "))
	}
	rep.Figure("phase.png", phaseCap)
	for _, s := range res.snapshots {
		cap := fmt.Sprintf("True (black) and learned (colour) x(t) and y(t) at iteration %d: test loss %s, orbit error %s.",
			s.iter, runner.Num(s.loss), runner.Num(s.orbit))
		if s.y == nil {
			cap = fmt.Sprintf("At iteration %d the learned field's solve failed; only the true trajectory is drawn.", s.iter)
		}
		rep.Figure(nodeSnapFile(s.iter), cap)
	}
	rep.Figure("loss.png", fmt.Sprintf("The training loss of each batch and the test loss every %d iterations (log scale).", c.TestEvery))
	rep.Metric("test loss before training", first)
	rep.Metric("test loss after training", last)
	rep.Metric("lowest test loss", res.testLoss[best])
	rep.Metric("orbit error after training", final.orbit)
	rep.Paraf("Training took %d forward and %d backward steps of the solver over its %d iterations (the op's statistics), "+
		"%s and %s per iteration.", res.fwdSteps, res.bwdSteps, c.Iterations,
		runner.Num(float64(res.fwdSteps)/float64(c.Iterations)), runner.Num(float64(res.bwdSteps)/float64(c.Iterations)))
	rep.Metric("training forward steps", float64(res.fwdSteps))
	rep.Metric("training backward steps", float64(res.bwdSteps))
	rep.Timing(fmt.Sprintf("training (%d iterations, with the test solves)", c.Iterations), res.trainSeconds)

	nodeReportMethods(rep, c, res)
	nodeReportVerification(rep, c, res)
	rep.CheckTrue("training lowers the test loss", last < first,
		fmt.Sprintf("test loss %s before, %s after %d iterations", runner.Num(first), runner.Num(last), c.Iterations))
}

func nodeReportMethods(rep *runner.Report, c nodeConfig, res *nodeResult) {
	rep.Heading("One gradient by each sensitivity method")
	n := res.methods[0].stateSize
	rep.Paraf("The gradient of the loss on one batch of %d windows (starting at points %v) at the trained parameters, by each "+
		"method through the op, at the training tolerances. *Stored vectors* is the solver's count of state vectors of %d "+
		"floats held for the backward pass at its peak (checkpoints, dense-output records, replayed states, and the %d observed "+
		"states); *stored KiB* is that times %d bytes. *Gradient-pass state* is the number of floats the gradient pass itself "+
		"integrates or propagates: the adjoint λ and the parameter adjoint for the adjoint methods (n + p = %d), with y "+
		"re-integrated for backsolve (2n + p), and y with its n·(n + p) sensitivities for forward sensitivities. "+
		"The last column is the largest relative difference from the verified gradient (rtol %g); wall times are in the Timings section.",
		c.TableBatch, res.verifyStarts, n, c.BatchTime, 8*n, n+res.np, c.VerifyRTol)
	t := rep.Table("method", "forward steps", "backward steps", "f", "VJPs", "JVPs", "stored vectors", "stored KiB", "gradient-pass state (floats)", "rel. difference from verified")
	peak := func(m nodeMethodRun) int { return max(m.fwd.PeakStored, m.bwd.PeakStored) }
	var worst float64
	var worstName string
	for _, m := range res.methods {
		d := relErr(m.grad, res.trained.opGrad)
		if d > worst || worstName == "" {
			worst, worstName = d, m.name
		}
		t.Row(m.name, m.fwd.Steps, m.bwd.Steps, m.fwd.FEvals+m.bwd.FEvals, m.fwd.VJPs+m.bwd.VJPs, m.fwd.JVPs+m.bwd.JVPs,
			peak(m), fmt.Sprintf("%.1f", float64(peak(m)*8*n)/1024), m.work, d)
		rep.Timing(fmt.Sprintf("one gradient, %s (best of %d)", m.name, m.reps), m.seconds)
		rep.Metric(m.name+" stored vectors", float64(peak(m)))
	}
	adj, fwd := res.methods[:len(res.methods)-1], res.methods[len(res.methods)-1] // forward sensitivities come last
	minStored, maxStored, maxVJP := adj[0], adj[0], 0
	for _, m := range adj {
		if peak(m) < peak(minStored) {
			minStored = m
		}
		if peak(m) > peak(maxStored) {
			maxStored = m
		}
		maxVJP = max(maxVJP, m.fwd.VJPs+m.bwd.VJPs)
	}
	rep.Paraf("Among the adjoint methods the fewest vectors are stored by the %s (%d), the most by the %s (%d). Forward "+
		"sensitivities store %d but integrate %d floats, %s times an adjoint method's %d, and make %d JVPs against at most %d "+
		"VJPs for an adjoint method: with %d parameters and %d states, the adjoint methods are the ones that scale. Every "+
		"method's gradient is within %s of the verified one (largest: %s).",
		minStored.name, peak(minStored), maxStored.name, peak(maxStored), peak(fwd), fwd.work, runner.Num(float64(fwd.work)/float64(n+res.np)),
		n+res.np, fwd.fwd.JVPs+fwd.bwd.JVPs, maxVJP, res.np, n, runner.Num(worst), worstName)
	rep.Check("every method's gradient vs the verified gradient (relative)", worst, c.MethodsTol)
}

func nodeReportVerification(rep *runner.Report, c nodeConfig, res *nodeResult) {
	rep.Heading("Verification of the gradient")
	ini, tr := res.initial, res.trained
	odeIni, odeTr := relErr(ini.opGrad, ini.odeGrad), relErr(tr.opGrad, tr.odeGrad)
	var opAt []float64
	for _, k := range ini.coords {
		opAt = append(opAt, ini.opGrad[k])
	}
	opVsFD := relErr(opAt, ini.fdGrad)
	rep.Paraf("On the batch of the table, with every solve at rtol %g, atol %g: the op's gradient (reverse mode through "+
		"`ode.Op`, interpolating adjoint) against `ode.Gradient` with the same loss written as an `ode.Cost` (observations "+
		"with the mean absolute error) and the same method, over all %d parameters: largest relative difference %s at the "+
		"initial parameters and %s at the trained ones. Against central differences of the loss (gonum `fd.Derivative`, "+
		"step %g) along %d parameters (the first of W1, b1, W2 and b2, then others at random) at the initial parameters: %s. "+
		"The differences are taken there because the loss is a sum of |ŷ − y|, with a kink wherever a residual vanishes: the "+
		"smallest residual is %s at the initial parameters but %s after training, where a step of %g can cross zero, and "+
		"differences would measure the kink instead of the gradient.",
		c.VerifyRTol, c.VerifyATol, res.np, runner.Num(odeIni), runner.Num(odeTr), c.FDStep, len(ini.coords), runner.Num(opVsFD),
		runner.Num(ini.minResid), runner.Num(tr.minResid), c.FDStep)
	lay := nodeLayout(c.Hidden)
	names := []string{"W1", "b1", "W2", "b2"}
	t := rep.Table("parameter", "op (reverse mode)", "ode.Gradient", "central differences")
	for i, k := range ini.coords {
		part := 0
		for j := range 4 {
			if k >= lay.Offset(j) {
				part = j
			}
		}
		t.Row(fmt.Sprintf("θ[%d] (%s[%d])", k, names[part], k-lay.Offset(part)),
			fmt.Sprintf("%.10g", ini.opGrad[k]), fmt.Sprintf("%.10g", ini.odeGrad[k]), fmt.Sprintf("%.10g", ini.fdGrad[i]))
	}
	rep.Timing("verification (tight solves and finite differences)", res.verifySeconds)
	rep.Check("op gradient vs ode.Gradient (relative, all parameters, initial and trained)", max(odeIni, odeTr), c.GradTol)
	rep.Check(fmt.Sprintf("op gradient vs central differences (relative, %d parameters)", len(ini.coords)), opVsFD, c.FDTol)
}

// nodeMeanTail is the mean of the last k values (all if fewer).
func nodeMeanTail(v []float64, k int) float64 {
	tail := v[max(0, len(v)-k):]
	var s float64
	for _, x := range tail {
		s += x
	}
	return s / float64(len(tail))
}

// nodeIters lists the snapshots' iterations.
func nodeIters(snaps []nodeSnapshot) string {
	s := make([]string, len(snaps))
	for i, sn := range snaps {
		s[i] = fmt.Sprint(sn.iter)
	}
	return strings.Join(s, ", ")
}
