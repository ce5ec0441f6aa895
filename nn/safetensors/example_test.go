package safetensors_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn/safetensors"
)

// Encode writes tensors and metadata; Decode reads them back, converting
// every dtype to float64, and rejects damaged files with an error naming
// the tensor.
func Example() {
	var buf bytes.Buffer
	err := safetensors.Encode(&buf, []safetensors.Tensor{
		{Name: "weight", Value: adjoint.FromData([]float64{1, 2, 3, 4, 5, 6}, 2, 3)},
		{Name: "scale", DType: safetensors.F32, Value: adjoint.Scalar(0.1)},
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts, meta, err := safetensors.Decode(buf.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range ts {
		fmt.Println(t.Name, t.DType, t.Value.Shape, t.Value.Data)
	}
	fmt.Println(meta)

	_, _, err = safetensors.Decode(buf.Bytes()[:buf.Len()-2])
	fmt.Println(errors.Is(err, safetensors.ErrFormat))
	fmt.Println(err)
	// Output:
	// weight F64 [2 3] [1 2 3 4 5 6]
	// scale F32 [] [0.10000000149011612]
	// map[format:pt]
	// true
	// safetensors: invalid file: tensor "scale": data offsets [48, 52] reach beyond the 50-byte data buffer (file truncated?)
}
