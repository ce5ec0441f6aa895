package nn_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// A model trained in PyTorch, saved with
// safetensors.torch.save_file(net.state_dict(), path), loads into the
// same architecture built here. Its PyTorch modules are named (lstm, bn,
// mlp.0, mlp.2), so Rename maps this package's default keys ("0.", "2.",
// "3.", "5.", the positions in the Sequential) to them.
//
//	class Net(nn.Module):
//	    def __init__(self):
//	        super().__init__()
//	        self.lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
//	        self.bn = nn.BatchNorm1d(10)
//	        self.mlp = nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 2))
//	    def forward(self, x):
//	        y, _ = self.lstm(x)
//	        return self.mlp(self.bn(y[:, -1]))
func ExampleLoadTorch() {
	rng := rand.New(rand.NewPCG(1, 2)) // any weights: the file replaces them
	model := nn.NewSequential([]int{-1, 3},
		nn.NewLSTM(rng, 3, 5, &nn.RNNSettings{Layers: 2, Bidirectional: true}), nn.NewLastStep(),
		nn.NewBatchNorm1D(10, nil),
		nn.NewLinear(rng, 10, 8, nil), nn.Tanh(), nn.NewLinear(rng, 8, 2, nil))
	modules := map[string]string{"0": "lstm", "2": "bn", "3": "mlp.0", "5": "mlp.2"}
	set := &nn.TorchSettings{Rename: func(key string) string {
		i, rest, _ := strings.Cut(key, ".")
		return modules[i] + "." + rest
	}}
	if err := nn.LoadTorch("testdata/torch/model.safetensors", model, set); err != nil {
		fmt.Println(err)
		return
	}
	nn.SetTraining(model, false) // BatchNorm uses its running averages
	x := adjoint.Const(adjoint.Full(0.5, 1, 7, 3))
	fmt.Printf("%.6f\n", nn.Predict(model, x).Value().Data) // PyTorch: 1.5908, -0.0645

	// A tensor of the wrong shape is an error naming it; the model is
	// unchanged.
	wrong := nn.NewSequential([]int{-1, 3},
		nn.NewLSTM(rng, 3, 5, &nn.RNNSettings{Layers: 2, Bidirectional: true}), nn.NewLastStep(),
		nn.NewBatchNorm1D(10, nil),
		nn.NewLinear(rng, 10, 6, nil), nn.Tanh(), nn.NewLinear(rng, 6, 2, nil))
	err := nn.LoadTorch("testdata/torch/model.safetensors", wrong, set)
	fmt.Println(strings.TrimPrefix(err.Error(), "nn: load testdata/torch/model.safetensors: "))
	// Output:
	// [1.590791 -0.064543]
	// tensor "mlp.0.weight" has shape [8 10], Linear(10→6) needs [6 10]: parameters do not match
}

// BatchNorm normalises with the batch's statistics in training mode,
// updating its running averages, and with those averages in evaluation.
func ExampleBatchNorm() {
	bn := nn.NewBatchNorm1D(1, nil)
	x := adjoint.Const(adjoint.FromData([]float64{1, 2, 3, 6}, 4, 1))
	fmt.Printf("train %.4f\n", bn.Forward(x).Value().Data)
	for _, b := range bn.Buffers() {
		fmt.Printf("%s %.4f\n", b.Name, b.Value().Data)
	}
	nn.SetTraining(bn, false)
	fmt.Printf("eval %.4f\n", bn.Forward(x).Value().Data)
	// Output:
	// train [-1.0690 -0.5345 0.0000 1.6036]
	// running_mean [0.3000]
	// running_var [1.3667]
	// num_batches_tracked [1.0000]
	// eval [0.5988 1.4542 2.3096 4.8758]
}

// CrossEntropy with PyTorch's options: a weighted mean divides by the
// weights of the counted labels, ignored labels count for nothing, and
// label smoothing mixes in the uniform distribution.
func ExampleCrossEntropy() {
	logits := adjoint.Const(adjoint.FromData([]float64{
		2, 0, -1,
		0, 1, 0,
		1, 1, 3,
	}, 3, 3))
	labels := []int{0, 1, -100}
	set := &nn.ClassLossSettings{Weight: []float64{1, 2, 1}, Ignore: true, IgnoreIndex: -100}
	fmt.Printf("weighted, ignoring the last: %.6f\n", nn.CrossEntropy(logits, labels, set).Item())
	set.LabelSmoothing = 0.1
	fmt.Printf("with label smoothing 0.1:    %.6f\n", nn.CrossEntropy(logits, labels, set).Item())
	set.Reduction = nn.ReduceNone
	fmt.Printf("per sample: %.6f\n", nn.CrossEntropy(logits, labels, set).Value().Data)
	// Output:
	// weighted, ignoring the last: 0.424245
	// with label smoothing 0.1:    0.513878
	// per sample: [0.408841 1.132793 0.000000]
}

// A one-cycle schedule drives Adam (or SGD) through Scheduled, which
// replaces the optimiser in a Trainer.
func ExampleOneCycle() {
	sch := nn.OneCycle{Max: 0.01, Total: 10}
	for k := range 10 {
		fmt.Printf("%.6f ", sch.LR(k))
	}
	fmt.Println()
	opt := &nn.Scheduled{Optimizer: nn.NewAdamW(0, 0.01), Schedule: sch}
	var _ nn.Optimizer = opt // for a Trainer
	// Output:
	// 0.000400 0.005200 0.010000 0.009505 0.008117 0.006113 0.003887 0.001883 0.000495 0.000000
}

// An LSTM continues from a given state and returns its final state, in
// PyTorch's layout [layers·directions, batch, hidden]: here a sequence
// processed in two chunks gives the same final state as in one go.
func ExampleLSTM_ApplyState() {
	rng := rand.New(rand.NewPCG(3, 4))
	lstm := nn.NewLSTM(rng, 2, 3, &nn.RNNSettings{Layers: 2})
	x := adjoint.Const(adjoint.Full(0.3, 1, 6, 2))
	_, whole := lstm.ApplyState(nn.Vars(lstm), x, nn.State{})
	_, mid := lstm.ApplyState(nn.Vars(lstm), adjoint.Slice(x, 1, 0, 4), nn.State{})
	_, end := lstm.ApplyState(nn.Vars(lstm), adjoint.Slice(x, 1, 4, 6), mid)
	fmt.Println(whole.H.Shape(), whole.C.Shape())
	fmt.Printf("%.6f\n%.6f\n", whole.H.Value().Data[3:], end.H.Value().Data[3:])
	// Output:
	// [2 1 3] [2 1 3]
	// [0.167778 0.071388 -0.074103]
	// [0.167778 0.071388 -0.074103]
}
