// The command 1.2.1 stand-in: github.com/pulumi/pulumi-command v1.2.1, a native provider built with
// github.com/pulumi/pulumi-go-provider v1.3.0 (its infer package). Sources read:
//
//	[inputs]  pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go (ResourceInputs: triggers, create,
//	          update, delete)
//	[local]   pulumi-command v1.2.1 provider/pkg/provider/local/{base.go,command.go,commandController.go,
//	          commandOutputs.go,logging.go}
//	[infer]   pulumi-go-provider v1.3.0 infer/resource.go (Diff, diff, Check, markComputed, markSecret,
//	          ensureDefaultComputed, ensureDefaultSecrets)
//	[sdk]     @pulumi/command 1.2.1 (node_modules) local/command.js: the generated SDK adds
//	          `replaceOnChanges: ["triggers[*]"]` to every Command's options.
//
// Rules:
//   - Replace vs update ([infer] Diff): Command implements CustomUpdate, so only inputs tagged
//     `provider:"replaceOnChanges"` replace: `triggers` ([inputs]). Every other change (create, update,
//     delete, environment, stdin, dir, interpreter, logging, ...) is an update, which runs `update`, or
//     `create` when `update` is unset ([local] commandController.go Update). The diff compares old inputs
//     with new inputs ([infer] diff: req.OldInputs when the engine sends them). A change inside
//     triggers (detailed-diff path triggers[0]) replaces here; the real provider reports that path as an
//     update, and the engine replaces because of the SDK's replaceOnChanges "triggers[*]" ([sdk]), so the
//     end result is the same.
//   - Outputs ([local] command.go CommandOutputs = CommandInputs + BaseOutputs): the inputs, `stdout`,
//     `stderr`, and `assets`/`archive` only when assetPaths/archivePaths are given. THE STAND-IN DOES NOT
//     RUN COMMANDS (running them is a later issue): stdout and stderr are "" (what [local] Create returns
//     when `create` is unset), and assets/archive are absent.
//   - Preview ([infer] markComputed): in a create preview every output that does not mirror an input
//     (stdout, stderr) is unknown; in an update preview too, since some input changed (the default flow
//     makes every output depend on every input).
//   - Secrets ([infer] ensureDefaultSecrets): an output is secret when the input of the same name is;
//     a secret stdin stays secret, stdout/stderr do not become secret because of it.
//   - Id ([local] Create): resource.NewUniqueHex(name, 8, 0): the resource name plus 8 random hex digits.
//   - addPreviousOutputInEnv, logging, environment, interpreter, dir are only echoed.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func commandPlugin() *Plugin {
	return &Plugin{
		Name:    "command",
		Version: "1.2.1",
		Resources: map[string]*Resource{
			"command:local:Command": {
				// [local] logging.go Logging enum values.
				Enums: map[string][]string{"logging": {"stdout", "stderr", "stdoutAndStderr", "none"}},
				// [inputs] Triggers `provider:"replaceOnChanges"`.
				Replace: []ReplaceRule{{Path: "triggers"}},
				Create:  commandCreate,
				Update:  commandUpdate,
				Read: "pulumi-go-provider's default Read returns the state as it is (the command is not run " +
					"again).",
			},
		},
		Invokes: map[string]Invoke{
			// [local] run.go: local.run runs a command on every program run.
			"command:local:run": func(*Provider, resource.PropertyMap, bool) (resource.PropertyMap, error) {
				return nil, errOffline("command:local:run", "runs the command, and the stand-in runs no commands")
			},
		},
	}
}

// commandInputs drops what [infer] diff/Create drop from inputs: "version" and "__"-prefixed keys.
func commandInputs(news resource.PropertyMap) resource.PropertyMap {
	outs := copyMap(news)
	for k := range outs {
		if k == "version" || len(k) > 1 && k[:2] == "__" {
			delete(outs, k)
		}
	}
	return outs
}

func commandCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := commandInputs(c.News)
	if c.Preview {
		outs["stdout"], outs["stderr"] = unknown(), unknown()
		return "", outs, nil
	}
	id, err := resource.NewUniqueHex(c.Name, 8, 0)
	if err != nil {
		return "", nil, err
	}
	// Not run (see the file comment): what Create returns when there is no command to run.
	outs["stdout"], outs["stderr"] = resource.NewProperty(""), resource.NewProperty("")
	return id, outs, nil
}

func commandUpdate(c *Call) (resource.PropertyMap, error) {
	outs := commandInputs(c.News)
	if c.Preview {
		outs["stdout"], outs["stderr"] = unknown(), unknown()
		return outs, nil
	}
	// [local] Update starts from the old stdout/stderr and runs update (or create); not run here.
	outs["stdout"], outs["stderr"] = resource.NewProperty(""), resource.NewProperty("")
	return outs, nil
}
