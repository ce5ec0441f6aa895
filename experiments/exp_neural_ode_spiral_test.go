package main

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestNodeTruth checks the true field against (y³)·A by hand.
func TestNodeTruth(t *testing.T) {
	dst := make([]float64, 2)
	// y = (2, −1): y³ = (8, −1); (8, −1)·A = (8·(−0.1) + (−1)·(−2), 8·2 + (−1)·(−0.1)).
	nodeTruth{}.Eval(dst, 0, []float64{2, -1}, nil)
	if want := []float64{1.2, 16.1}; math.Abs(dst[0]-want[0]) > 1e-14 || math.Abs(dst[1]-want[1]) > 1e-13 {
		t.Errorf("f(2, −1) = %v, want %v", dst, want)
	}
}

// TestNodeField checks the batched traced field against the MLP written
// out with loops, window by window: the layout of θ and the stacking of
// the windows' states.
func TestNodeField(t *testing.T) {
	const h, batch = 3, 2
	lay := nodeLayout(h)
	theta := make([]float64, lay.Size())
	for i := range theta {
		theta[i] = math.Sin(float64(i) + 1)
	}
	w1, b1, w2, b2 := lay.Part(theta, 0), lay.Part(theta, 1), lay.Part(theta, 2), lay.Part(theta, 3)
	y := []float64{0.5, -1, 1.5, 0.25}
	got := make([]float64, 2*batch)
	nodeField(lay, batch).Eval(got, 0, y, theta)
	for b := range batch {
		y0, y1 := math.Pow(y[2*b], 3), math.Pow(y[2*b+1], 3)
		for k := range 2 {
			want := b2[k]
			for j := range h {
				want += math.Tanh(y0*w1[j]+y1*w1[h+j]+b1[j]) * w2[2*j+k] // W1 is 2×h, W2 is h×2
			}
			if math.Abs(got[2*b+k]-want) > 1e-14 {
				t.Errorf("window %d, component %d: %v, want %v", b, k, got[2*b+k], want)
			}
		}
	}
}

// TestNodeBatchAndL1 checks the cutting of windows and that the ode.Cost
// form of the loss is the traced loss's definition.
func TestNodeBatchAndL1(t *testing.T) {
	truth := [][]float64{{0, 1}, {2, 3}, {4, 5}, {6, 7}}
	nb := nodeBatchOf(truth, []int{2, 0}, 2)
	if !slices.Equal(nb.y0, []float64{4, 5, 0, 1}) || !slices.Equal(nb.data.Data, []float64{4, 5, 0, 1, 6, 7, 2, 3}) {
		t.Fatalf("y0 %v, data %v", nb.y0, nb.data.Data)
	}
	obs := nodeL1([]float64{0, 1}, nb)
	y := []float64{3, 5, 1, 1} // row 1 is (6, 7, 2, 3): |3−6| + |5−7| + |1−2| + |1−3| = 8, over 2·4 values
	if g := obs.G(1, y, nil); math.Abs(g-1) > 1e-15 {
		t.Errorf("G = %v, want 1", g)
	}
	gy := make([]float64, 4)
	obs.Grad(gy, nil, 0, []float64{4, 6, -1, 1}, nil) // residuals 0, 1, −1, 0
	if want := []float64{0, 0.125, -0.125, 0}; !slices.Equal(gy, want) {
		t.Errorf("gradient %v, want %v", gy, want)
	}
}

// TestNodePhaseCut checks where a trajectory leaves the widened box.
func TestNodePhaseCut(t *testing.T) {
	res := &nodeResult{truth: [][]float64{{0, 0}, {1, 2}}}
	s := nodeSnapshot{y: [][]float64{{0, 0}, {1.2, 2.4}, {1.3, 0}, {0, 0}}} // x may reach 1.25, y 2.5
	if k := res.phaseCut(s); k != 2 {
		t.Errorf("cut after %d points, want 2", k)
	}
}

// TestNodeConfig checks that bad values are rejected.
func TestNodeConfig(t *testing.T) {
	for _, bad := range []func(*nodeConfig){
		func(c *nodeConfig) { c.Method = "adams" },
		func(c *nodeConfig) { c.BatchTime = 1 },
		func(c *nodeConfig) { c.BatchSize = c.DataSize },
		func(c *nodeConfig) { c.TableBatch = 0 },
		func(c *nodeConfig) { c.Snapshots = []int{c.Iterations + 1} },
		func(c *nodeConfig) { c.Snapshots = []int{10, 5} },
		func(c *nodeConfig) { c.LRMin = 2 * c.LR },
		func(c *nodeConfig) { c.FDCoords = 10000 },
	} {
		c := *runner.Defaults[nodeConfig]("neural_ode_spiral", false)
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

// nodeFakeResult is a small result whose checks pass.
func nodeFakeResult() *nodeResult {
	g := []float64{1, 2, 3}
	ck := &nodeCheck{opGrad: g, odeGrad: g, coords: []int{0, 2}, fdGrad: []float64{1, 3}, minResid: 0.1}
	res := &nodeResult{np: 3, times: []float64{0, 1, 2}, truth: [][]float64{{2, 0}, {1, 1}, {0, 1}},
		trainLoss: []float64{0.5, 0.2}, testIters: []int{0, 2}, testLoss: []float64{1, 0.1},
		snapshots:    []nodeSnapshot{{iter: 2, y: [][]float64{{2, 0}, {1, 1}, {0, 1}}, loss: 0.1}},
		verifyStarts: []int{0}, initial: ck, trained: ck}
	for _, name := range []string{"interpolating adjoint", "forward sensitivities"} {
		res.methods = append(res.methods, nodeMethodRun{name: name, grad: g, work: 5, stateSize: 2})
	}
	return res
}

// TestNodeReportFollowsTheNumbers checks that the outcome sentences and
// checks follow the result.
func TestNodeReportFollowsTheNumbers(t *testing.T) {
	c := *runner.Defaults[nodeConfig]("neural_ode_spiral", false)
	c.Iterations, c.BatchTime, c.DataSize, c.T1 = 2, 2, 3, 2
	res := nodeFakeResult()
	var rep runner.Report
	nodeReport(&rep, c, res)
	if !strings.Contains(rep.Text(), "falls from 1 before training to 0.1 after 2 iterations") || !rep.Passed() {
		t.Fatalf("the fake result should pass and say so: %v\n%s", rep.Failed(), rep.Text())
	}
	res.testLoss[1] = 2
	res.methods[1].grad = []float64{1, 2, 4}
	res.initial.fdGrad = []float64{1, 3.1}
	rep = runner.Report{}
	nodeReport(&rep, c, res)
	if !strings.Contains(rep.Text(), "does not fall from 1 before training to 2") {
		t.Errorf("the sentence does not follow the test loss:\n%s", rep.Text())
	}
	failed := strings.Join(rep.Failed(), "\n")
	for _, want := range []string{"training lowers the test loss", "every method's gradient", "central differences"} {
		if !strings.Contains(failed, want) {
			t.Errorf("check %q does not fail; failed:\n%s", want, failed)
		}
	}
}

// TestNodeOrbitError checks distances to a polyline by hand.
func TestNodeOrbitError(t *testing.T) {
	orbit := [][]float64{{0, 0}, {2, 0}, {2, 2}}
	// (1, 0) lies on the orbit; (1, 1) is 1 from both segments; (3, 3) is √2
	// from the end point (2, 2).
	got := nodeOrbitError([][]float64{{1, 0}, {1, 1}, {3, 3}}, orbit)
	if want := (0 + 1 + math.Sqrt2) / 3; math.Abs(got-want) > 1e-15 {
		t.Errorf("orbit error %v, want %v", got, want)
	}
}
