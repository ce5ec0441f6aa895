package data_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/nn/data"
)

// A Loader serves shuffled mini-batches as tensors; batch k depends only
// on k and the seed.
func ExampleLoader() {
	// Six 2×2 images (normally from data.MNIST).
	set := &data.Set{N: 6, Rows: 2, Cols: 2, Classes: 10,
		Pixels: make([]uint8, 6*4), Labels: []uint8{0, 1, 2, 3, 4, 5}}
	l := data.NewLoader(set, 4, 1, nil)
	fmt.Println("batches per epoch:", l.BatchesPerEpoch())
	for step := range 3 {
		x, labels := l.Batch(step)
		fmt.Println("step", step, "epoch", l.Epoch(step), "shape", x.Shape, "images", len(labels))
	}
	// Output:
	// batches per epoch: 2
	// step 0 epoch 0 shape [4 1 2 2] images 4
	// step 1 epoch 0 shape [2 1 2 2] images 2
	// step 2 epoch 1 shape [4 1 2 2] images 4
}
