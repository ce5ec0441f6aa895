package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// A decoder undoes an encoder's downsampling: a stride-2 convolution with
// padding 1 halves an 8×8 image to 4×4, and a stride-2 transposed
// convolution with output padding 1 brings it back to 8×8 (without the
// output padding to 7×7, which the convolution also maps to 4×4). A
// depthwise convolution with reflect padding keeps the size in between.
func ExampleConvTranspose2D() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential([]int{3, 8, 8},
		nn.NewConv2D(rng, 3, 8, 3, 3, &nn.Conv2DSettings{Stride: 2, Padding: 1, Init: nn.TorchDefault()}), nn.ReLU(),
		nn.NewConv2D(rng, 8, 8, 3, 3, &nn.Conv2DSettings{Padding: 1, Groups: 8, PaddingMode: nn.PadReflect}), nn.ReLU(),
		nn.NewConvTranspose2D(rng, 8, 3, 3, 3, &nn.ConvTranspose2DSettings{Stride: 2, Padding: 1, OutputPadding: 1}))
	for _, l := range model.Children() {
		fmt.Println(l)
	}
	x := adjoint.Const(adjoint.New(2, 3, 8, 8))
	fmt.Println(model.Forward(x).Shape())
	// Output:
	// Conv2D(3→8, 3×3, stride 2, pad 1)
	// relu
	// Conv2D(8→8, 3×3, stride 1, pad 1, groups 8, reflect)
	// relu
	// ConvTranspose2D(8→3, 3×3, stride 2, pad 1, output pad 1)
	// [2 3 8 8]
}

// Adaptive pooling maps any image onto a fixed grid: PyTorch's windows
// of rows ⌊i·H/OH⌋ to ⌈(i+1)·H/OH⌉ − 1, which overlap when the sizes do
// not divide.
func ExampleAdaptiveAvgPool2D() {
	x := adjoint.Const(adjoint.FromData([]float64{1, 2, 3, 4, 5}, 1, 1, 1, 5))
	y := nn.NewAdaptiveAvgPool2D(1, 3).Forward(x)
	fmt.Println(y.Value().Data) // means of [1 2], [2 3 4], [4 5]
	// Output:
	// [1.5 3 4.5]
}
