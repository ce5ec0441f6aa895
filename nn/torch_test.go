package nn

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn/safetensors"
)

// The reference values in testdata/torch come from PyTorch 1.13 in
// float64, written by testdata/make_fixtures.py (see its header). Layers
// and losses agree with PyTorch to rounding: the tolerance below is a
// normwise relative error (max|a−b| / max|b|) of 1e-12, far above the
// ~1e-15 that reordered float64 sums produce and far below any real
// discrepancy (a wrong formula, layout or gate order is O(1)).
const torchTol = 1e-12

// fixture reads a safetensors file of testdata/torch by name.
func fixture(t *testing.T, name string) map[string]*adjoint.Tensor {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "torch", name))
	if err != nil {
		t.Fatal(err)
	}
	ts, _, err := safetensors.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]*adjoint.Tensor, len(ts))
	for _, x := range ts {
		m[x.Name] = x.Value
	}
	return m
}

// under returns the fixture tensors whose names start with prefix, with
// the prefix removed, as safetensors tensors (F64).
func under(m map[string]*adjoint.Tensor, prefix string) []safetensors.Tensor {
	var ts []safetensors.Tensor
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			dt := safetensors.F64
			if strings.HasSuffix(name, "num_batches_tracked") {
				dt = safetensors.I64
			}
			ts = append(ts, safetensors.Tensor{Name: name, DType: dt, Value: v})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts
}

// normRel returns max|a−b| / max|b| (max|a−b| when b is zero), and +Inf
// when the shapes differ.
func normRel(a, b *adjoint.Tensor) float64 {
	if a == nil || b == nil || !slices.Equal(a.Shape, b.Shape) {
		return math.Inf(1)
	}
	var ref float64
	for _, v := range b.Data {
		ref = max(ref, math.Abs(v))
	}
	d := maxAbsDiff(a.Data, b.Data)
	if ref == 0 {
		return d
	}
	return d / ref
}

// torchLayerCases builds, for each case of layers.safetensors, the layer
// that corresponds to the PyTorch module (with other weights, which the
// test replaces by PyTorch's).
var torchLayerCases = map[string]func() Layer{
	"linear":                 func() Layer { return NewLinear(newRNG(1), 4, 3, nil) },
	"layernorm":              func() Layer { return NewLayerNorm(4, 0) },
	"layernorm_2d":           func() Layer { return NewLayerNormOver([]int{3, 4}, nil) },
	"layernorm_noaffine":     func() Layer { return NewLayerNormOver([]int{5}, &NormSettings{Eps: 1e-3, NoAffine: true}) },
	"groupnorm":              func() Layer { return NewGroupNorm(2, 4, nil) },
	"groupnorm_2d":           func() Layer { return NewGroupNorm(3, 6, nil) },
	"groupnorm_noaffine":     func() Layer { return NewGroupNorm(1, 3, &NormSettings{NoAffine: true}) },
	"batchnorm1d_train":      func() Layer { return NewBatchNorm1D(4, nil) },
	"batchnorm1d_train_3d":   func() Layer { return NewBatchNorm1D(4, &BatchNormSettings{Momentum: 0.3}) },
	"batchnorm1d_eval":       func() Layer { return evalMode(NewBatchNorm1D(4, nil)) },
	"batchnorm1d_cumulative": func() Layer { return NewBatchNorm1D(3, &BatchNormSettings{CumulativeAverage: true}) },
	"batchnorm2d_train":      func() Layer { return NewBatchNorm2D(2, nil) },
	"batchnorm2d_eval":       func() Layer { return evalMode(NewBatchNorm2D(2, &BatchNormSettings{Eps: 1e-3})) },
	"batchnorm2d_noaffine":   func() Layer { return NewBatchNorm2D(3, &BatchNormSettings{NoAffine: true}) },
	"conv2d":                 func() Layer { return NewConv2D(newRNG(6), 3, 4, 3, 3, nil) },
	"conv2d_dil2_stride3": func() Layer {
		return NewConv2D(newRNG(6), 2, 3, 3, 2, &Conv2DSettings{Stride: 3, PaddingHW: [2]int{2, 1}, Dilation: 2})
	},
	"conv2d_groups2": func() Layer {
		return NewConv2D(newRNG(6), 4, 6, 3, 3, &Conv2DSettings{StrideHW: [2]int{1, 2}, Padding: 1, Groups: 2})
	},
	"conv2d_depthwise": func() Layer {
		return NewConv2D(newRNG(6), 3, 6, 3, 3, &Conv2DSettings{Padding: 1, Groups: 3, NoBias: true})
	},
	"conv2d_reflect": func() Layer {
		return NewConv2D(newRNG(6), 2, 3, 3, 3, &Conv2DSettings{Stride: 2, PaddingHW: [2]int{2, 1}, PaddingMode: PadReflect})
	},
	"conv2d_replicate": func() Layer {
		return NewConv2D(newRNG(6), 2, 2, 2, 3, &Conv2DSettings{PaddingHW: [2]int{1, 2}, DilationHW: [2]int{1, 2}, PaddingMode: PadReplicate})
	},
	"conv2d_circular": func() Layer {
		return NewConv2D(newRNG(6), 2, 4, 3, 3, &Conv2DSettings{Padding: 2, Groups: 2, PaddingMode: PadCircular})
	},
	"conv1d": func() Layer {
		return NewConv1D(newRNG(6), 3, 4, 3, &Conv1DSettings{Stride: 2, Padding: 1, Dilation: 2})
	},
	"conv1d_depthwise_reflect": func() Layer {
		return NewConv1D(newRNG(6), 4, 4, 3, &Conv1DSettings{Padding: 2, Groups: 4, PaddingMode: PadReflect})
	},
	"convt2d": func() Layer {
		return NewConvTranspose2D(newRNG(6), 3, 2, 3, 3, &ConvTranspose2DSettings{Stride: 2, Padding: 1, OutputPadding: 1})
	},
	"convt2d_groups_dil": func() Layer {
		return NewConvTranspose2D(newRNG(6), 4, 6, 3, 2, &ConvTranspose2DSettings{StrideHW: [2]int{2, 3}, PaddingHW: [2]int{1, 0},
			OutputPaddingHW: [2]int{1, 2}, DilationHW: [2]int{2, 1}, Groups: 2})
	},
	"convt2d_outpad_dilation": func() Layer {
		return NewConvTranspose2D(newRNG(6), 2, 3, 2, 2, &ConvTranspose2DSettings{Dilation: 3, OutputPadding: 2, NoBias: true})
	},
	"maxpool_2x2_odd": func() Layer { return NewMaxPool2D(2, 0) },
	"maxpool_ceil_pad": func() Layer {
		return NewMaxPool2DWindow(3, 2, &Pool2DSettings{StrideHW: [2]int{2, 1}, Padding: 1, CeilMode: true})
	},
	"maxpool_dilation": func() Layer {
		return NewMaxPool2DWindow(3, 3, &Pool2DSettings{Stride: 2, Padding: 1, Dilation: 2, CeilMode: true})
	},
	"avgpool_ceil_pad": func() Layer {
		return NewAvgPool2DWindow(3, 3, &Pool2DSettings{Stride: 2, Padding: 1, CeilMode: true})
	},
	"avgpool_ceil_pad_exclude": func() Layer {
		return NewAvgPool2DWindow(3, 3, &Pool2DSettings{Stride: 2, Padding: 1, CeilMode: true, ExcludePadding: true})
	},
	"avgpool_divisor": func() Layer {
		return NewAvgPool2DWindow(2, 3, &Pool2DSettings{StrideHW: [2]int{1, 2}, Padding: 1, Divisor: 5})
	},
	"adaptive_avg":      func() Layer { return NewAdaptiveAvgPool2D(3, 4) },
	"adaptive_avg_up":   func() Layer { return NewAdaptiveAvgPool2D(4, 7) },
	"adaptive_avg_keep": func() Layer { return NewAdaptiveAvgPool2D(0, 2) },
	"adaptive_max":      func() Layer { return NewAdaptiveMaxPool2D(3, 2) },
	"embedding": func() Layer {
		return NewEmbedding(newRNG(2), 10, 3, &EmbeddingSettings{Padding: true, PaddingIndex: 1})
	},
	"rnn":                func() Layer { return NewRNN(newRNG(3), 3, 4, nil) },
	"rnn_relu_2layers":   func() Layer { return NewRNN(newRNG(3), 3, 4, &RNNSettings{Activation: ReLU(), Layers: 2}) },
	"gru":                func() Layer { return NewGRU(newRNG(4), 3, 4, nil) },
	"gru_2layers_bidir":  func() Layer { return NewGRU(newRNG(4), 3, 4, &RNNSettings{Layers: 2, Bidirectional: true}) },
	"lstm":               func() Layer { return NewLSTM(newRNG(5), 3, 4, nil) },
	"lstm_2layers_bidir": func() Layer { return NewLSTM(newRNG(5), 3, 4, &RNNSettings{Layers: 2, Bidirectional: true}) },
}

func evalMode(l Layer) Layer {
	SetTraining(l, false)
	return l
}

// Every layer with PyTorch weights loaded through LoadTorchStateDict
// gives PyTorch's outputs, final states, updated running statistics, and
// gradients with respect to its input, initial state and parameters (the
// latter mapped back to PyTorch's layout through TorchStateDict).
func TestLayersAgainstPyTorch(t *testing.T) {
	fx := fixture(t, "layers.safetensors")
	cases := map[string]bool{}
	for k := range fx {
		cases[k[:strings.IndexByte(k, '/')]] = true
	}
	if len(cases) != len(torchLayerCases) {
		t.Errorf("fixture has %d cases, the test knows %d", len(cases), len(torchLayerCases))
	}
	names := make([]string, 0, len(torchLayerCases))
	for name := range torchLayerCases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if !cases[name] {
				t.Fatal("no fixture")
			}
			get := func(k string) *adjoint.Tensor { return fx[name+"/"+k] }
			l := torchLayerCases[name]()
			if err := LoadTorchStateDict(l, under(fx, name+"/p/"), nil); err != nil {
				t.Fatal(err)
			}
			var x *adjoint.Var
			wrt := Vars(l)
			if get("gx") != nil {
				x = adjoint.Param(get("x"))
				wrt = append([]*adjoint.Var{x}, wrt...)
			} else {
				x = adjoint.Const(get("x"))
			}
			var y *adjoint.Var
			var final State
			var h0, c0 *adjoint.Var
			if rec, ok := l.(Recurrent); ok {
				if get("h0") != nil {
					h0 = adjoint.Param(get("h0"))
					wrt = append(wrt, h0)
				}
				if get("c0") != nil {
					c0 = adjoint.Param(get("c0"))
					wrt = append(wrt, c0)
				}
				y, final = rec.ApplyState(Vars(l), x, State{H: h0, C: c0})
			} else {
				y = l.Apply(Vars(l), x)
			}
			worst := normRel(y.Value(), get("y"))
			obj := adjoint.Sum(adjoint.Mul(y, adjoint.Const(get("r"))))
			if get("hT") != nil {
				worst = max(worst, normRel(final.H.Value(), get("hT")))
				obj = adjoint.Add(obj, adjoint.Sum(adjoint.Mul(final.H, adjoint.Const(get("rh")))))
			}
			if get("cT") != nil {
				worst = max(worst, normRel(final.C.Value(), get("cT")))
				obj = adjoint.Add(obj, adjoint.Sum(adjoint.Mul(final.C, adjoint.Const(get("rc")))))
			}
			if worst > torchTol {
				t.Errorf("outputs differ from PyTorch's by %.3g", worst)
			}
			// Running statistics after the call, through the state dict.
			sd, err := TorchStateDict(l, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sd {
				if want := get("after/" + s.Name); want != nil {
					if e := normRel(s.Value, want); e > torchTol {
						t.Errorf("buffer %s differs from PyTorch's by %.3g: %v, want %v", s.Name, e, s.Value.Data, want.Data)
					}
					worst = max(worst, normRel(s.Value, want))
				}
			}
			if len(wrt) == 0 {
				t.Logf("max deviation from PyTorch %.2g (no gradients)", worst)
				return
			}
			grads := adjoint.Grad(obj, wrt...)
			if x.Tracked() {
				worst = max(worst, checkNear(t, "dx", grads[0], get("gx")))
				grads = grads[1:]
			}
			if c0 != nil {
				worst = max(worst, checkNear(t, "dc0", grads[len(grads)-1], get("gc0")))
				grads = grads[:len(grads)-1]
			}
			if h0 != nil {
				worst = max(worst, checkNear(t, "dh0", grads[len(grads)-1], get("gh0")))
				grads = grads[:len(grads)-1]
			}
			// The parameter gradients in PyTorch's layout: load them into
			// a second instance and export its state dict.
			g := torchLayerCases[name]()
			for i, p := range g.Params() {
				copy(p.Value().Data, grads[i].Data)
			}
			gd, err := TorchStateDict(g, nil)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*adjoint.Tensor{}
			for _, s := range gd {
				byName[s.Name] = s.Value
			}
			_, twoBiases := l.(*GRU)
			for _, s := range under(fx, name+"/gp/") {
				key := s.Name
				if strings.HasPrefix(key, "bias_hh") && !twoBiases {
					// One bias here: its gradient is PyTorch's for both.
					key = strings.Replace(key, "bias_hh", "bias_ih", 1)
				}
				worst = max(worst, checkNear(t, "d"+s.Name, byName[key], s.Value))
			}
			t.Logf("max deviation from PyTorch %.2g", worst)
		})
	}
}

func checkNear(t *testing.T, what string, got, want *adjoint.Tensor) float64 {
	t.Helper()
	e := normRel(got, want)
	if e > torchTol {
		t.Errorf("%s differs from PyTorch's by %.3g", what, e)
	}
	return e
}

// lossSetting is one entry of losses.json.
type lossSetting struct {
	Loss           string    `json:"loss"`
	Reduction      string    `json:"reduction"`
	Delta          float64   `json:"delta"`
	Beta           float64   `json:"beta"`
	Weight         []float64 `json:"weight"`
	IgnoreIndex    *int      `json:"ignore_index"`
	LabelSmoothing float64   `json:"label_smoothing"`
	BCEWeight      []float64 `json:"bce_weight"`
	PosWeight      []float64 `json:"pos_weight"`
	LogTarget      bool      `json:"log_target"`
	Grad           bool      `json:"grad"`
}

func reductionNamed(t *testing.T, s string) Reduction {
	for r := ReduceMean; r <= ReduceBatchMean; r++ {
		if r.String() == s {
			return r
		}
	}
	t.Fatalf("unknown reduction %q", s)
	return 0
}

func labelsOf(t *adjoint.Tensor) []int {
	l := make([]int, len(t.Data))
	for i, v := range t.Data {
		l[i] = int(v)
	}
	return l
}

// Every loss, reduction and option agrees with torch.nn.functional, in
// value and in the gradient with respect to the input.
func TestLossesAgainstPyTorch(t *testing.T) {
	fx := fixture(t, "losses.safetensors")
	raw, err := os.ReadFile(filepath.Join("testdata", "torch", "losses.json"))
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]lossSetting
	if err := json.Unmarshal(raw, &settings); err != nil {
		t.Fatal(err)
	}
	worstBy := map[string]float64{}
	for name, s := range settings {
		in, target := adjoint.Param(fx[name+"/input"]), fx[name+"/target"]
		red := reductionNamed(t, s.Reduction)
		cls := &ClassLossSettings{Reduction: red, Weight: s.Weight, LabelSmoothing: s.LabelSmoothing}
		if s.IgnoreIndex != nil {
			cls.Ignore, cls.IgnoreIndex = true, *s.IgnoreIndex
		}
		var out *adjoint.Var
		switch s.Loss {
		case "huber":
			out = Huber(in, adjoint.Const(target), s.Delta, red)
		case "smoothl1":
			out = SmoothL1(in, adjoint.Const(target), s.Beta, red)
		case "nll":
			out = NLL(in, labelsOf(target), cls)
		case "ce":
			out = CrossEntropy(in, labelsOf(target), cls)
		case "ce_soft":
			out = CrossEntropySoft(in, adjoint.Const(target), cls)
		case "bce":
			bs := &BCESettings{Reduction: red}
			if s.BCEWeight != nil {
				bs.Weight = adjoint.FromData(s.BCEWeight, len(s.BCEWeight))
			}
			out = BCE(in, adjoint.Const(target), bs)
		case "bce_logits":
			bs := &BCEWithLogitsSettings{Reduction: red}
			if s.BCEWeight != nil {
				bs.Weight = adjoint.FromData(s.BCEWeight, len(s.BCEWeight))
			}
			if s.PosWeight != nil {
				bs.PosWeight = adjoint.FromData(s.PosWeight, len(s.PosWeight))
			}
			out = BCEWithLogitsLoss(in, adjoint.Const(target), bs)
		case "kldiv":
			out = KLDiv(in, adjoint.Const(target), &KLDivSettings{Reduction: red, LogTarget: s.LogTarget})
		default:
			t.Fatalf("%s: unknown loss %q", name, s.Loss)
		}
		e := normRel(out.Value(), fx[name+"/out"])
		if s.Grad {
			g := adjoint.Grad(adjoint.Sum(adjoint.Mul(out, adjoint.Const(fx[name+"/r"]))), in)[0]
			e = max(e, normRel(g, fx[name+"/grad"]))
		}
		if e > torchTol {
			t.Errorf("%s: differs from PyTorch by %.3g (value %v, want %v)", name, e, out.Value().Data, fx[name+"/out"].Data)
		}
		worstBy[s.Loss] = max(worstBy[s.Loss], e)
	}
	t.Logf("max deviation from PyTorch per loss: %v", worstBy)
}

// optimFixture is optim.json.
type optimFixture struct {
	P0         []float64   `json:"p0"`
	Grads      [][]float64 `json:"grads"`
	Optimizers map[string]struct {
		Kind           string      `json:"kind"`
		LR             float64     `json:"lr"`
		Momentum       float64     `json:"momentum"`
		WeightDecay    float64     `json:"weight_decay"`
		Nesterov       bool        `json:"nesterov"`
		Beta1          float64     `json:"beta1"`
		Beta2          float64     `json:"beta2"`
		Eps            float64     `json:"eps"`
		L2             float64     `json:"l2"`
		DecoupledDecay float64     `json:"decoupled_decay"`
		Trajectory     [][]float64 `json:"trajectory"`
	} `json:"optimizers"`
	Clip struct {
		Before []float64 `json:"before"`
		Cases  []struct {
			MaxNorm float64   `json:"max_norm"`
			Norm    float64   `json:"norm"`
			After   []float64 `json:"after"`
		} `json:"cases"`
	} `json:"clip"`
	Schedules map[string]struct {
		Kind           string    `json:"kind"`
		Base           float64   `json:"base"`
		Every          int       `json:"every"`
		Gamma          float64   `json:"gamma"`
		Min            float64   `json:"min"`
		Warmup         int       `json:"warmup"`
		StartFactor    float64   `json:"start_factor"`
		Total          int       `json:"total"`
		Linear         bool      `json:"linear"`
		ThreePhase     bool      `json:"three_phase"`
		PctStart       float64   `json:"pct_start"`
		DivFactor      float64   `json:"div_factor"`
		FinalDivFactor float64   `json:"final_div_factor"`
		Periodic       bool      `json:"periodic"`
		LRs            []float64 `json:"lrs"`
	} `json:"schedules"`
	Cycled map[string]struct {
		Kind         string      `json:"kind"`
		Nesterov     bool        `json:"nesterov"`
		Max          float64     `json:"max"`
		Total        int         `json:"total"`
		PctStart     float64     `json:"pct_start"`
		ThreePhase   bool        `json:"three_phase"`
		Linear       bool        `json:"linear"`
		BaseMomentum float64     `json:"base_momentum"`
		MaxMomentum  float64     `json:"max_momentum"`
		LRs          []float64   `json:"lrs"`
		Momenta      []float64   `json:"momenta"`
		Trajectory   [][]float64 `json:"trajectory"`
	} `json:"cycled"`
}

func readOptimFixture(t *testing.T) optimFixture {
	raw, err := os.ReadFile(filepath.Join("testdata", "torch", "optim.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f optimFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// SGD, Adam (coupled L2) and AdamW follow torch.optim's trajectories on
// the same gradients; ClipGlobalNorm agrees with clip_grad_norm_ up to
// PyTorch's documented 1e-6 in the denominator.
func TestOptimizersAgainstPyTorch(t *testing.T) {
	f := readOptimFixture(t)
	for name, o := range f.Optimizers {
		var opt Optimizer
		switch o.Kind {
		case "sgd":
			opt = &SGD{LR: o.LR, Momentum: o.Momentum, WeightDecay: o.WeightDecay, Nesterov: o.Nesterov}
		case "adam":
			a := NewAdam(o.LR)
			if o.Beta1 != 0 {
				a.Beta1, a.Beta2, a.Eps = o.Beta1, o.Beta2, o.Eps
			}
			a.L2, a.DecoupledDecay = o.L2, o.DecoupledDecay
			opt = a
		}
		p := adjoint.FromData(slices.Clone(f.P0), len(f.P0))
		var worst float64
		for k, g := range f.Grads {
			opt.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{adjoint.FromData(slices.Clone(g), len(g))})
			worst = max(worst, normRel(p, adjoint.FromData(o.Trajectory[k], len(g))))
		}
		// Six steps of O(1) values: rounding differences of a few ulps.
		if worst > 1e-14 {
			t.Errorf("%s: trajectory differs from torch.optim's by %.3g", name, worst)
		}
		t.Logf("%s: max deviation %.2g", name, worst)
	}

	before := f.Clip.Before
	for _, c := range f.Clip.Cases {
		g := adjoint.FromData(slices.Clone(before), len(before))
		n := ClipGlobalNorm([]*adjoint.Tensor{g}, c.MaxNorm)
		if math.Abs(n-c.Norm) > 1e-15*c.Norm {
			t.Errorf("norm %v, PyTorch %v", n, c.Norm)
		}
		// PyTorch scales by max/(norm+1e-6) (when below 1), this package
		// by max/norm.
		ratio := 1.0
		if c.MaxNorm < n {
			ratio = (n + 1e-6) / n
		}
		for i := range g.Data {
			if want := c.After[i] * ratio; math.Abs(g.Data[i]-want) > 1e-15*math.Abs(want) {
				t.Errorf("max norm %v, element %d: %v, PyTorch %v (ratio %v)", c.MaxNorm, i, g.Data[i], c.After[i], ratio)
			}
		}
	}
}

// The schedules give torch.optim.lr_scheduler's learning rates.
func TestSchedulesAgainstPyTorch(t *testing.T) {
	f := readOptimFixture(t)
	for name, s := range f.Schedules {
		var sch Schedule
		switch s.Kind {
		case "step":
			sch = StepDecay{Base: s.Base, Every: s.Every, Gamma: s.Gamma}
		case "exponential":
			sch = ExponentialDecay{Base: s.Base, Gamma: s.Gamma}
		case "warmup_cosine":
			sch = WarmupCosine{Base: s.Base, Min: s.Min, Warmup: s.Warmup, StartFactor: s.StartFactor, Total: s.Total, Periodic: s.Periodic}
		case "onecycle":
			sch = OneCycle{Max: s.Base, Total: s.Total, PctStart: s.PctStart, DivFactor: s.DivFactor,
				FinalDivFactor: s.FinalDivFactor, Linear: s.Linear, ThreePhase: s.ThreePhase}
		}
		var worst float64
		for k, want := range s.LRs {
			worst = max(worst, math.Abs(sch.LR(k)-want)/s.Base)
		}
		// PyTorch updates most rates recursively (lr ← lr·factor), this
		// package evaluates closed forms: they agree to accumulated
		// rounding, relative to the base rate.
		if worst > 1e-13 {
			t.Errorf("%s: rates differ from PyTorch's by %.3g of the base rate", name, worst)
		}
		t.Logf("%s: max deviation %.2g of the base rate", name, worst)
	}
}

// OneCycle with CycleMomentum gives OneCycleLR's rates and momenta, and
// Scheduled passes both to SGD (momentum) and Adam (β₁), which then follow
// torch.optim's trajectories.
func TestOneCycleMomentumAgainstPyTorch(t *testing.T) {
	f := readOptimFixture(t)
	if len(f.Cycled) == 0 {
		t.Fatal("no cycled cases in optim.json")
	}
	for name, c := range f.Cycled {
		sch := OneCycle{Max: c.Max, Total: c.Total, PctStart: c.PctStart, ThreePhase: c.ThreePhase, Linear: c.Linear,
			CycleMomentum: true, BaseMomentum: c.BaseMomentum, MaxMomentum: c.MaxMomentum}
		var opt LROptimizer = &SGD{Momentum: 0.9, Nesterov: c.Nesterov}
		if c.Kind == "adam" {
			opt = NewAdam(0)
		}
		run := &Scheduled{Optimizer: opt, Schedule: sch}
		p := adjoint.FromData(slices.Clone(f.P0), len(f.P0))
		var rates, moms, traj float64
		for k := range c.Total {
			m, ok := sch.Momentum(k)
			if !ok {
				t.Fatalf("%s: no momentum", name)
			}
			rates = max(rates, math.Abs(sch.LR(k)-c.LRs[k])/c.Max)
			moms = max(moms, math.Abs(m-c.Momenta[k]))
			g := f.Grads[k%len(f.Grads)]
			run.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{adjoint.FromData(slices.Clone(g), len(g))})
			traj = max(traj, normRel(p, adjoint.FromData(c.Trajectory[k], len(g))))
		}
		// Closed forms against PyTorch's: rounding only. The trajectory
		// compounds eighteen steps of O(1) values.
		if rates > 1e-13 || moms > 1e-15 || traj > 1e-13 {
			t.Errorf("%s: rates differ by %.3g of the peak, momenta by %.3g, trajectory by %.3g", name, rates, moms, traj)
		}
		t.Logf("%s: rates %.2g of the peak, momenta %.2g, trajectory %.2g", name, rates, moms, traj)
	}
	// A schedule that sets the momentum needs an optimiser that has one.
	mustPanic(t, func() {
		(&Scheduled{Optimizer: lrOnly{}, Schedule: OneCycle{Max: 1, Total: 5, CycleMomentum: true}}).Step(nil, nil)
	}, "sets the momentum")
	if _, ok := (OneCycle{Max: 1, Total: 5}).Momentum(0); ok {
		t.Error("OneCycle without CycleMomentum sets the momentum")
	}
}

// lrOnly is an optimiser with a learning rate and no momentum.
type lrOnly struct{}

func (lrOnly) Step(_, _ []*adjoint.Tensor) {}
func (lrOnly) SetLR(float64)               {}

// torchModel builds the model of make_fixtures.py's Net and the renaming
// from this package's default keys to Net's.
func torchModel() (*Sequential, *TorchSettings) {
	rng := newRNG(9)
	m := NewSequential([]int{-1, 3},
		NewLSTM(rng, 3, 5, &RNNSettings{Layers: 2, Bidirectional: true}), NewLastStep(),
		NewBatchNorm1D(10, nil),
		NewLinear(rng, 10, 8, nil), Tanh(), NewLinear(rng, 8, 2, nil))
	modules := map[string]string{"0": "lstm", "2": "bn", "3": "mlp.0", "5": "mlp.2"}
	rename := func(key string) string {
		i, rest, _ := strings.Cut(key, ".")
		return modules[i] + "." + rest
	}
	return m, &TorchSettings{Rename: rename}
}

// A model trained in PyTorch and saved as safetensors loads here and gives
// PyTorch's outputs, in evaluation and in training mode (with the same
// running statistics afterwards).
func TestTorchModel(t *testing.T) {
	m, set := torchModel()
	if err := LoadTorch(filepath.Join("testdata", "torch", "model.safetensors"), m, set); err != nil {
		t.Fatal(err)
	}
	io := fixture(t, "model_io.safetensors")
	x := adjoint.Const(io["x"])
	SetTraining(m, false)
	eval := normRel(Predict(m, x).Value(), io["y_eval"])
	SetTraining(m, true)
	train := normRel(m.Forward(x).Value(), io["y_train"])
	bn := Buffers(m)
	stats := max(normRel(bn[0].Value(), io["after/running_mean"]), normRel(bn[1].Value(), io["after/running_var"]))
	if bn[2].Value().Item() != io["after/num_batches_tracked"].Item() {
		t.Errorf("num_batches_tracked %v, PyTorch %v", bn[2].Value().Item(), io["after/num_batches_tracked"].Item())
	}
	t.Logf("deviation from PyTorch: eval %.2g, train %.2g, running statistics %.2g", eval, train, stats)
	if eval > torchTol || train > torchTol || stats > torchTol {
		t.Errorf("deviation from PyTorch: eval %.3g, train %.3g, running statistics %.3g", eval, train, stats)
	}
}

// A convolutional encoder-decoder trained in PyTorch (a Sequential, so the
// default keys apply) loads and gives PyTorch's outputs.
func TestTorchConvModel(t *testing.T) {
	rng := newRNG(10)
	m := NewSequential([]int{1, 10, 10},
		NewConv2D(rng, 1, 4, 3, 3, &Conv2DSettings{Stride: 2, Padding: 1}), ReLU(),
		NewConv2D(rng, 4, 4, 3, 3, &Conv2DSettings{Padding: 1, Groups: 2, PaddingMode: PadReflect}), NewBatchNorm2D(4, nil),
		NewConvTranspose2D(rng, 4, 2, 3, 3, &ConvTranspose2DSettings{Stride: 2, Padding: 1, OutputPadding: 1}), Tanh(),
		NewMaxPool2DWindow(3, 3, &Pool2DSettings{Stride: 2, Padding: 1, CeilMode: true}), NewAdaptiveAvgPool2D(3, 3),
		NewFlatten(), NewLinear(rng, 18, 3, nil))
	if err := LoadTorch(filepath.Join("testdata", "torch", "conv_model.safetensors"), m, nil); err != nil {
		t.Fatal(err)
	}
	io := fixture(t, "conv_model_io.safetensors")
	SetTraining(m, false)
	d := normRel(Predict(m, adjoint.Const(io["x"])).Value(), io["y_eval"])
	t.Logf("deviation from PyTorch: %.2g", d)
	if d > torchTol {
		t.Errorf("outputs differ from PyTorch's by %.3g", d)
	}
}

// snapshot returns copies of every parameter and buffer of m.
func snapshot(m Layer) [][]float64 {
	var out [][]float64
	for _, p := range append(m.Params(), Buffers(m)...) {
		out = append(out, slices.Clone(p.Value().Data))
	}
	return out
}

// Every defect of a file or of its fit to the model is an error that names
// the tensor, and the model is left exactly as it was.
func TestLoadTorchErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "torch", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ts, meta, err := safetensors.Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	encode := func(ts []safetensors.Tensor) []byte {
		var b strings.Builder
		if err := safetensors.Encode(&b, ts, nil); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}
	edit := func(f func(ts []safetensors.Tensor) []safetensors.Tensor) []byte {
		cp := make([]safetensors.Tensor, len(ts))
		for i, x := range ts {
			cp[i] = x
			cp[i].Value = x.Value.Clone()
		}
		return encode(f(cp))
	}
	find := func(ts []safetensors.Tensor, name string) int {
		for i, x := range ts {
			if x.Name == name {
				return i
			}
		}
		t.Fatalf("no tensor %s", name)
		return -1
	}
	header := binaryHeaderLen(good)
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"truncated", good[:len(good)-100], []string{"beyond", "truncated"}},
		{"header overflow", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...), []string{"header length"}},
		{"header cut", good[:8+header/2], []string{"only"}},
		{"wrong shape", edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
			i := find(ts, "mlp.0.weight")
			ts[i].Value = adjoint.New(10, 8)
			return ts
		}), []string{`"mlp.0.weight"`, "[10 8]", "[8 10]", "Linear(10→8)"}},
		{"wrong dtype", edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
			ts[find(ts, "bn.num_batches_tracked")].DType = safetensors.F64
			return ts
		}), []string{`"bn.num_batches_tracked"`, "integer"}},
		{"integer weights", edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
			i := find(ts, "bn.weight")
			ts[i].DType = safetensors.I64
			for j := range ts[i].Value.Data {
				ts[i].Value.Data[j] = 1
			}
			return ts
		}), []string{`"bn.weight"`, "floating-point"}},
		{"missing", edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
			return slices.Delete(ts, find(ts, "lstm.bias_hh_l1_reverse"), find(ts, "lstm.bias_hh_l1_reverse")+1)
		}), []string{"1 tensors of the model are missing", `"lstm.bias_hh_l1_reverse"`}},
		{"unexpected", edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.Tensor{Name: "head.weight", Value: adjoint.New(2, 2)})
		}), []string{"do not belong to the model", `"head.weight"`}},
	}
	for _, c := range cases {
		m, set := torchModel()
		before := snapshot(m)
		path := filepath.Join(dir, c.name+".safetensors")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		err := LoadTorch(path, m, set)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range append(c.want, path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", c.name, err, w)
			}
		}
		if format := errors.Is(err, safetensors.ErrFormat); format == errors.Is(err, ErrMismatch) {
			t.Errorf("%s: error %v wraps ErrFormat %v, ErrMismatch %v; want exactly one", c.name, err, format, !format)
		}
		after := snapshot(m)
		for i := range before {
			if !slices.Equal(before[i], after[i]) {
				t.Errorf("%s: the failed load changed the model", c.name)
				break
			}
		}
	}
	// A layer without a PyTorch counterpart is an error, not a silent gap.
	custom := NewSequential([]int{2}, paramLayer{newParam("w", adjoint.New(2))})
	if _, err := TorchStateDict(custom, nil); err == nil || !strings.Contains(err.Error(), "no PyTorch mapping") {
		t.Errorf("custom layer: %v", err)
	}
	if _, err := TorchStateDict(custom, &TorchSettings{Rename: func(string) string { return "same" }}); err == nil {
		t.Error("no error for a rename that merges keys")
	}
}

func binaryHeaderLen(b []byte) int {
	return int(b[0]) | int(b[1])<<8 | int(b[2])<<16
}

// paramLayer is a layer with a parameter that the PyTorch mapping does not
// know.
type paramLayer struct{ p Param }

func (l paramLayer) Params() []Param                                     { return []Param{l.p} }
func (l paramLayer) OutShape(in []int) ([]int, error)                    { return in, nil }
func (l paramLayer) Apply(_ []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return x }

// SaveTorch writes a file that LoadTorch reads back into another model,
// which then computes the same outputs; F32 rounds each value to float32.
func TestSaveTorchRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, set := torchModel()
	SetTraining(a, false)
	x := adjoint.Const(randTensor(newRNG(61), 3, 4, 3))
	for _, dt := range []safetensors.DType{safetensors.F64, safetensors.F32} {
		path := filepath.Join(dir, string(dt)+".safetensors")
		s := *set
		s.DType, s.Metadata = dt, map[string]string{"format": "pt"}
		if err := SaveTorch(path, a, &s); err != nil {
			t.Fatal(err)
		}
		b := NewSequential([]int{-1, 3},
			NewLSTM(newRNG(62), 3, 5, &RNNSettings{Layers: 2, Bidirectional: true}), NewLastStep(),
			NewBatchNorm1D(10, nil), NewLinear(newRNG(63), 10, 8, nil), Tanh(), NewLinear(newRNG(64), 8, 2, nil))
		if err := LoadTorch(path, b, set); err != nil {
			t.Fatal(err)
		}
		SetTraining(b, false)
		ya, yb := Predict(a, x).Value(), Predict(b, x).Value()
		d := normRel(yb, ya)
		switch {
		case dt == safetensors.F64 && d != 0:
			t.Errorf("F64 round trip changed the outputs by %g", d)
		case dt == safetensors.F32 && (d == 0 || d > 1e-6):
			t.Errorf("F32 round trip changed the outputs by %g, want about float32 rounding", d)
		}
	}
}

// TorchDefault draws weights and biases from U(−1/√fanIn, 1/√fanIn), the
// distribution of torch.nn.Linear's reset_parameters.
func TestTorchDefaultInit(t *testing.T) {
	l := NewLinear(newRNG(65), 400, 300, TorchDefault())
	bound := 1 / math.Sqrt(400)
	for i, p := range l.Params() {
		d := p.Value().Data
		lo, hi := slices.Min(d), slices.Max(d)
		m, v := meanVar(d)
		// U(−b, b): variance b²/3; min and max near ±b.
		n := float64(len(d))
		if lo < -bound || hi > bound || hi < bound*(1-20/n) || lo > -bound*(1-20/n) ||
			math.Abs(m) > 4*bound/math.Sqrt(3*n) || math.Abs(v/(bound*bound/3)-1) > 8/math.Sqrt(n) {
			t.Errorf("%s: range [%g, %g], mean %g, variance %g; want U(−%g, %g)", p.Name, lo, hi, m, v, bound, bound)
		}
		if i == 1 && slices.Equal(d, make([]float64, len(d))) {
			t.Error("bias is zero")
		}
	}
	if b := NewLinear(newRNG(65), 4, 3, nil).Params()[1].Value().Data; !slices.Equal(b, []float64{0, 0, 0}) {
		t.Errorf("default bias %v, want zeros", b)
	}
}
