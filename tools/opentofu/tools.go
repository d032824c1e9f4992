//go:build tools

// Package tools pins OpenTofu (MPL-2.0), which `landform tools` builds when
// PATH has neither a Terraform 1.11 or later nor an OpenTofu 1.11 or later
// (1.11 is the first with write-only attributes, which landform's provider
// uses for secrets). The blank import keeps the requirement in go.mod and
// go.sum; the build tag keeps this file out of every ordinary build.
package tools

import (
	_ "github.com/opentofu/opentofu/cmd/tofu"
)
