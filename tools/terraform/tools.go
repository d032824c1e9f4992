//go:build tools

// Package tools pins Terraform 1.5.7 (MPL-2.0, the last release before the
// licence change), which `landform tools` builds when no Terraform 1.5 or
// later is on PATH. The blank import keeps the requirement in go.mod and
// go.sum; the build tag keeps this file out of every ordinary build.
package tools

import (
	_ "github.com/hashicorp/terraform"
)
