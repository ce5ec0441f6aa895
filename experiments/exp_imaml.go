package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/metalearn"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// imamlConfig is the [params] table of the imaml experiment: implicit
// (iMAML) against unrolled meta-gradients of the proximally regularised
// inner problem, for a growing number of inner steps.
type imamlConfig struct {
	Tasks      int        `toml:"tasks"`       // sinusoid tasks in the meta-batch, 1 to 1000
	Shots      int        `toml:"shots"`       // support and query points per task, 1 to 1000
	Hidden     int        `toml:"hidden"`      // width of the two tanh layers, 1 to 256
	Lambda     float64    `toml:"lambda"`      // proximal strength λ
	InnerLR    float64    `toml:"inner_lr"`    // inner gradient-descent step size
	InnerSteps []int      `toml:"inner_steps"` // numbers of inner steps compared, increasing (each 1 to 100000)
	RefSteps   int        `toml:"ref_steps"`   // inner steps of the converged reference, 1 to 1000000
	CGTol      float64    `toml:"cg_tol"`      // relative residual of the conjugate-gradient solve
	FDCoords   int        `toml:"fd_coords"`   // parameters checked by finite differences, 1 to 10000
	FDSteps    int        `toml:"fd_steps"`    // inner steps of the unrolled finite-difference check, 1 to 10000
	FDTol      runner.Tol `toml:"fd_tol"`      // tolerance of both finite-difference checks
	AgreeTol   runner.Tol `toml:"agree_tol"`   // implicit vs unrolled at the largest inner_steps
}

// Validate checks every key's range.
func (c imamlConfig) Validate() error {
	errs := []error{
		runner.InRange("tasks", c.Tasks, 1, 1000),
		runner.InRange("shots", c.Shots, 1, 1000),
		runner.InRange("hidden", c.Hidden, 1, 256),
		runner.InRange("lambda", c.Lambda, 1e-6, 1e6),
		runner.InRange("inner_lr", c.InnerLR, 1e-6, 10),
		runner.InRange("ref_steps", c.RefSteps, 1, 1000000),
		runner.InRange("cg_tol", c.CGTol, 1e-15, 1),
		runner.InRange("fd_coords", c.FDCoords, 1, 10000),
		runner.InRange("fd_steps", c.FDSteps, 1, 10000),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("agree_tol", c.AgreeTol, 0, 10),
	}
	// Two counts at least: a check compares the first with the last.
	if len(c.InnerSteps) < 2 || !slices.IsSorted(c.InnerSteps) || c.InnerSteps[0] < 1 || c.InnerSteps[len(c.InnerSteps)-1] > 100000 {
		errs = append(errs, runner.ParamErrorf("inner_steps", "must be an increasing list of at least two step counts between 1 and 100000, got %v", c.InnerSteps))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[imamlConfig, imamlResult]{
		Name:    "imaml",
		Theme:   "metalearn",
		Summary: "Implicit MAML against unrolled meta-gradients of the proximal inner problem: agreement as the inner solve converges, memory and time.",
		Defaults: func() imamlConfig {
			return imamlConfig{
				Tasks: 4, Shots: 10, Hidden: 40, Lambda: 10, InnerLR: 0.02,
				InnerSteps: []int{5, 10, 20, 50, 100, 200}, RefSteps: 500, CGTol: 1e-12,
				FDCoords: 4, FDSteps: 20, FDTol: 1e-5, AgreeTol: 1e-6,
			}
		},
		Headline: "implicit vs unrolled rel. difference at the most inner steps",
		Quick: func(c *imamlConfig) {
			c.Tasks = min(c.Tasks, 2)
			c.Hidden = min(c.Hidden, 10)
			// Counts up to 100, and at least the two smallest.
			short := slices.DeleteFunc(slices.Clone(c.InnerSteps), func(n int) bool { return n > 100 })
			if len(short) < 2 {
				short = slices.Clone(c.InnerSteps[:2])
			}
			c.InnerSteps = short
			c.RefSteps = min(c.RefSteps, 300)
			c.FDCoords = min(c.FDCoords, 3)
			c.FDSteps = min(c.FDSteps, 10)
		},
		Compute: computeIMAML,
		Figures: imamlFigures,
		Report:  imamlReport,
	})
}

// imamlUnrolled returns the mean outer loss and its gradient with respect to
// θ through steps of gradient descent on L_inner(φ) + (λ/2)‖φ − θ‖² from
// φ = θ, differentiating the recorded graph (θ enters both as the start and
// as the proximal anchor). It also returns the live heap measured while the
// graph of the last task is held, in bytes, when measure is set.
func imamlUnrolled(params []*adjoint.Tensor, tasks []metalearn.Task, lambda, lr float64, steps int, measure bool) (float64, []*adjoint.Tensor, uint64, error) {
	grad := make([]*adjoint.Tensor, len(params))
	for i, p := range params {
		grad[i] = adjoint.New(p.Shape...)
	}
	var loss float64
	var heap uint64
	w := 1 / float64(len(tasks))
	for _, t := range tasks {
		theta := make([]*adjoint.Var, len(params))
		for i, p := range params {
			theta[i] = adjoint.Param(p)
		}
		prox := func(_ int, ps []*adjoint.Var) *adjoint.Var {
			l := t.Inner(ps)
			for i, p := range ps {
				l = adjoint.Add(l, adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.Sub(p, theta[i]))), lambda/2))
			}
			return l
		}
		h := metalearn.Hyper{LR: adjoint.ConstScalar(lr)}
		phi, err := metalearn.Unroll(metalearn.SGD{}, h, theta, prox, steps, nil)
		if err != nil {
			return 0, nil, 0, err
		}
		out := t.Outer(phi)
		if measure {
			heap = max(heap, imamlHeap())
		}
		loss += w * out.Item()
		for i, g := range adjoint.Grad(out, theta...) {
			for j, v := range g.Data {
				grad[i].Data[j] += w * v
			}
		}
		runtime.KeepAlive(out)
	}
	return loss, grad, heap, nil
}

// imamlImplicitHeap measures the live heap of the largest object the
// implicit path holds: the adapted parameters of a task and one recorded
// inner gradient, the graph each Hessian-vector product of the CG solve
// differentiates.
func imamlImplicitHeap(params []*adjoint.Tensor, tasks []metalearn.Task, lr float64, steps int) (uint64, error) {
	var heap uint64
	for _, t := range tasks {
		base := imamlHeap()
		phi, err := metalearn.Adapt(params, t.Inner, lr, steps, nil)
		if err != nil {
			return 0, err
		}
		ps := make([]*adjoint.Var, len(phi))
		for i, p := range phi {
			ps[i] = adjoint.Param(p)
		}
		g := adjoint.GradGraph(t.Inner(ps), ps...)
		h := imamlHeap()
		heap = max(heap, h-min(h, base))
		runtime.KeepAlive(g)
	}
	return heap, nil
}

// imamlHeap returns the live heap after a garbage collection.
func imamlHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// imamlRow compares the meta-gradients at one number of inner steps.
type imamlRow struct {
	steps              int
	residual           float64 // largest relative inner residual over the tasks
	cgIters            int     // CG iterations of the implicit gradient, all tasks
	implicitVsUnrolled float64
	implicitVsRef      float64 // against the converged reference
	unrolledVsRef      float64
	secImp, secUnr     float64 // wall times of one meta-gradient
	heapImp, heapUnr   uint64  // measured live heap, bytes above the baseline
}

// imamlFDStep is the step of the central differences.
const imamlFDStep = 1e-5

// imamlResult is what computeIMAML finds.
type imamlResult struct {
	nparams  int        // parameters of the network
	rows     []imamlRow // one per inner_steps entry
	refCG    int        // CG iterations of the converged reference, all tasks
	fdErrImp float64    // converged implicit gradient vs central differences of the solution map
	fdErrUnr float64    // unrolled gradient vs central differences of the fd_steps-step loop
}

func computeIMAML(env *runner.Env, c imamlConfig) (*imamlResult, error) {
	rng := env.Rand()
	model := nn.NewSequential([]int{1},
		nn.NewLinear(rng, 1, c.Hidden, nil), nn.Tanh(),
		nn.NewLinear(rng, c.Hidden, c.Hidden, nil), nn.Tanh(),
		nn.NewLinear(rng, c.Hidden, 1, nil))
	params := nn.ParamValues(model.Params())
	tasks := metalearn.SineTasks(env.Rand(), model, c.Tasks, c.Shots)
	cg := &adjoint.KrylovSettings{Tol: c.CGTol, MaxIter: 10000}
	imaml := func(steps int) metalearn.IMAML {
		return metalearn.IMAML{Lambda: c.Lambda, InnerLR: c.InnerLR, InnerSteps: steps, CG: cg}
	}
	res := &imamlResult{nparams: nn.NumElements(model.Params())}
	total := len(c.InnerSteps) + 1 + c.FDCoords

	// The converged reference.
	env.Progress(0, total, fmt.Sprintf("converged reference, %d inner steps", c.RefSteps))
	ref, err := imaml(c.RefSteps).MetaGrad(params, tasks)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	res.refCG = ref.CGIterations
	gRef := flatTensors(ref.Grad)

	for i, n := range c.InnerSteps {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(1+i, total, fmt.Sprintf("%d inner steps", n))
		base := imamlHeap()
		t0 := time.Now()
		imp, err := imaml(n).MetaGrad(params, tasks)
		secImp := time.Since(t0).Seconds()
		if err != nil {
			return nil, fmt.Errorf("implicit, %d inner steps: %w", n, err)
		}
		heapImp, err := imamlImplicitHeap(params, tasks, c.InnerLR, n)
		if err != nil {
			return nil, fmt.Errorf("implicit, %d inner steps: %w", n, err)
		}
		t0 = time.Now()
		_, gu, heapUnr, err := imamlUnrolled(params, tasks, c.Lambda, c.InnerLR, n, true)
		secUnr := time.Since(t0).Seconds()
		if err != nil {
			return nil, fmt.Errorf("unrolled, %d inner steps: %w", n, err)
		}
		gi, gun := flatTensors(imp.Grad), flatTensors(gu)
		res.rows = append(res.rows, imamlRow{
			steps: n, residual: imp.MaxInnerResidual, cgIters: imp.CGIterations,
			implicitVsUnrolled: relErr(gi, gun), implicitVsRef: relErr(gi, gRef), unrolledVsRef: relErr(gun, gRef),
			secImp: secImp, secUnr: secUnr, heapImp: heapImp, heapUnr: heapUnr - min(heapUnr, base),
		})
	}

	// Finite differences: the implicit gradient of the converged solution
	// map, and the unrolled gradient of the whole fd_steps-step inner loop.
	fdRng := env.Rand()
	var adI, numI, adU, numU []float64
	_, gU, _, err := imamlUnrolled(params, tasks, c.Lambda, c.InnerLR, c.FDSteps, false)
	if err != nil {
		return nil, fmt.Errorf("unrolled, %d inner steps: %w", c.FDSteps, err)
	}
	for coord := range c.FDCoords {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(1+len(c.InnerSteps)+coord, total, "finite differences")
		i := fdRng.IntN(len(params))
		j := fdRng.IntN(len(params[i].Data))
		d := params[i].Data
		old := d[j]
		var fI, fU [2]float64
		for s, delta := range []float64{imamlFDStep, -imamlFDStep} {
			d[j] = old + delta
			rI, err1 := imaml(c.RefSteps).MetaGrad(params, tasks)
			lU, _, _, err2 := imamlUnrolled(params, tasks, c.Lambda, c.InnerLR, c.FDSteps, false)
			if err := errors.Join(err1, err2); err != nil {
				d[j] = old
				return nil, fmt.Errorf("finite differences, parameter %d[%d]: %w", i, j, err)
			}
			fI[s], fU[s] = rI.Loss, lU
		}
		d[j] = old
		numI = append(numI, (fI[0]-fI[1])/(2*imamlFDStep))
		numU = append(numU, (fU[0]-fU[1])/(2*imamlFDStep))
		adI = append(adI, ref.Grad[i].Data[j])
		adU = append(adU, gU[i].Data[j])
	}
	res.fdErrImp, res.fdErrUnr = relErr(adI, numI), relErr(adU, numU)
	return res, nil
}

func imamlFigures(dir runner.Dir, c imamlConfig, res *imamlResult) error {
	xs := make([]float64, len(res.rows))
	var eIU, eIR, eUR, tI, tU, mI, mU []float64
	for i, rw := range res.rows {
		xs[i] = float64(rw.steps)
		eIU = append(eIU, rw.implicitVsUnrolled)
		eIR = append(eIR, rw.implicitVsRef)
		eUR = append(eUR, rw.unrolledVsRef)
		tI = append(tI, rw.secImp*1e3)
		tU = append(tU, rw.secUnr*1e3)
		mI = append(mI, float64(rw.heapImp)/(1<<20))
		mU = append(mU, float64(rw.heapUnr)/(1<<20))
	}
	opt := &plots.Options{WidthPx: 720, HeightPx: 420}
	if _, err := plots.Save(dir.Path("agreement.png"), plots.Line{
		Title: "Implicit and unrolled meta-gradients", X: plots.Axis{Label: "inner gradient steps", Log: true},
		Y: plots.Axis{Label: "relative difference", Log: true},
		Series: []plots.Series{
			{Name: "implicit vs unrolled", X: xs, Y: eIU, Points: true},
			{Name: "implicit vs converged", X: xs, Y: eIR, Points: true},
			{Name: "unrolled vs converged", X: xs, Y: eUR, Points: true},
		},
	}, opt); err != nil {
		return err
	}
	if _, err := plots.Save(dir.Path("cost.png"), plots.Line{
		Title: "Cost of one meta-gradient (wall clock, varies run to run)", X: plots.Axis{Label: "inner gradient steps", Log: true},
		Y:      plots.Axis{Label: "milliseconds", Log: true},
		Series: []plots.Series{{Name: "implicit (CG)", X: xs, Y: tI, Points: true}, {Name: "unrolled (graph)", X: xs, Y: tU, Points: true}},
	}, opt); err != nil {
		return err
	}
	_, err := plots.Save(dir.Path("memory.png"), plots.Line{
		Title: "Live heap while the meta-gradient is computed (measured)", X: plots.Axis{Label: "inner gradient steps", Log: true},
		Y:      plots.Axis{Label: "MiB above baseline", Log: true},
		Series: []plots.Series{{Name: "implicit (CG)", X: xs, Y: mI, Points: true}, {Name: "unrolled (graph)", X: xs, Y: mU, Points: true}},
	}, opt)
	return err
}

func imamlReport(rep *runner.Report, c imamlConfig, res *imamlResult) {
	rep.Heading("Setup")
	rep.Paraf("%d sinusoid tasks (K = %d support and %d query points each) and a 1-%d-%d-1 tanh network (%d parameters) at its initialisation θ. "+
		"Each task adapts by n steps of gradient descent (step %g) on the proximal inner problem L_inner(φ) + (λ/2)‖φ − θ‖², λ = %g, from φ = θ. "+
		"The **unrolled** meta-gradient differentiates the recorded graph of all n steps (θ is both the start and the anchor). "+
		"The **implicit** one (`metalearn.IMAML`) assumes the inner problem solved, ∇L_inner(φ) + λ(φ − θ) = 0, and computes "+
		"(I + H/λ)⁻¹ ∇L_outer(φ) by conjugate gradients on Hessian-vector products (relative tolerance %g), storing no step. "+
		"Both are compared with the implicit meta-gradient at the converged inner solution (%d steps).",
		c.Tasks, c.Shots, c.Shots, c.Hidden, c.Hidden, res.nparams, c.InnerLR, c.Lambda, c.CGTol, c.RefSteps)

	rep.Heading("Agreement")
	tab := rep.Table("inner steps", "inner residual", "CG iterations", "implicit vs unrolled", "implicit vs converged", "unrolled vs converged")
	var residual, iu, ir, ur []float64
	for _, rw := range res.rows {
		tab.Row(rw.steps, rw.residual, rw.cgIters, rw.implicitVsUnrolled, rw.implicitVsRef, rw.unrolledVsRef)
		residual = append(residual, rw.residual)
		iu = append(iu, rw.implicitVsUnrolled)
		ir = append(ir, rw.implicitVsRef)
		ur = append(ur, rw.unrolledVsRef)
	}
	first, last := res.rows[0], res.rows[len(res.rows)-1]
	rep.Para("Inner residual: the largest ‖∇L_inner(φ) + λ(φ − θ)‖/‖∇L_inner(φ)‖ over the tasks. The implicit gradient is exact only where the inner problem " +
		"is solved; with few steps it is biased, and so is the truncated unrolled one.")
	if len(res.rows) > 1 {
		rep.Paraf("From %d to %d inner steps the inner residual %s (%s → %s); the difference between the implicit and the unrolled meta-gradient %s (%s → %s), "+
			"that of the implicit one from the converged meta-gradient %s (%s → %s), and that of the unrolled one %s (%s → %s).",
			first.steps, last.steps, runner.Trend(residual), runner.Num(first.residual), runner.Num(last.residual),
			runner.Trend(iu), runner.Num(first.implicitVsUnrolled), runner.Num(last.implicitVsUnrolled),
			runner.Trend(ir), runner.Num(first.implicitVsRef), runner.Num(last.implicitVsRef),
			runner.Trend(ur), runner.Num(first.unrolledVsRef), runner.Num(last.unrolledVsRef))
	}
	rep.Figure("agreement.png", "Relative differences between the meta-gradients against the number of inner steps.")

	rep.Heading("Memory and time")
	rep.Para("By construction the unrolled graph holds every inner step (parameters, activations and the recorded backward pass of each inner gradient), " +
		"while the implicit path runs the inner steps without a graph and holds at most one recorded inner gradient (the graph each " +
		"Hessian-vector product of the CG solve differentiates) and a few parameter-sized vectors, whatever the number of steps. " +
		"The measured live heap (after a garbage collection, while that graph is held) and wall-clock times vary from run to run, " +
		"so they are shown in the figures and listed in the Timings section rather than quoted here.")
	rep.Figure("memory.png", "Live heap above the baseline while one meta-gradient is held, against the number of inner steps (measured).")
	rep.Figure("cost.png", fmt.Sprintf("Wall-clock time of one meta-gradient over %d tasks (measured).", c.Tasks))
	for _, rw := range res.rows {
		rep.Timing(fmt.Sprintf("implicit, %d inner steps (heap %.2f MiB)", rw.steps, float64(rw.heapImp)/(1<<20)), rw.secImp)
		rep.Timing(fmt.Sprintf("unrolled, %d inner steps (heap %.2f MiB)", rw.steps, float64(rw.heapUnr)/(1<<20)), rw.secUnr)
	}

	rep.Metric("implicit vs unrolled rel. difference at the most inner steps", last.implicitVsUnrolled)
	rep.Metric("inner residual at the most inner steps", last.residual)
	rep.Metric("CG iterations (converged reference, all tasks)", float64(res.refCG))
	rep.Check(fmt.Sprintf("implicit meta-gradient (converged, %d steps) vs central differences of the solution map", c.RefSteps), res.fdErrImp, c.FDTol)
	rep.Check(fmt.Sprintf("unrolled meta-gradient vs central differences of the whole %d-step inner loop", c.FDSteps), res.fdErrUnr, c.FDTol)
	rep.Check(fmt.Sprintf("implicit vs unrolled at %d inner steps", last.steps), last.implicitVsUnrolled, c.AgreeTol)
	rep.CheckTrue("the implicit–unrolled difference shrinks as the inner problem converges",
		last.implicitVsUnrolled < first.implicitVsUnrolled, fmt.Sprintf("%.3g at %d steps → %.3g at %d", first.implicitVsUnrolled, first.steps, last.implicitVsUnrolled, last.steps))
}
