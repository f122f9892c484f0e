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
//     `stderr`, and `assets`/`archive` only when assetPaths/archivePaths are given (the stand-in serves
//     neither: the library gives none).
//   - Running ([local] commandOutputs.go run; commandController.go Create, Update, Delete): only on a
//     simulated cluster (envSim, core.go); otherwise nothing runs and stdout and stderr are "" (what
//     Create returns when `create` is unset). Create runs `create`; Update runs `update`, else `create`,
//     starting from the old stdout/stderr; Delete runs the state's `delete`. A command runs under
//     `interpreter` (default /bin/sh -c) in `dir` (default the plugin's working directory), with the
//     plugin's environment plus `environment`, PULUMI_COMMAND_STDOUT/STDERR set to the previous outputs
//     unless addPreviousOutputInEnv is false, and `stdin`. Its stdout and stderr lose one trailing
//     newline. A failure is a plain error "<exit error>: running <command>:\n<stdout and stderr>", no
//     partial state ([infer] returns a partial state only for a ResourceInitFailedError): a failed create
//     leaves no resource, and a failed update leaves the old state, whose inputs the next update diffs
//     against again. Not simulated: the output streamed to the engine's log as it runs (the stand-in has
//     no engine host connection); the error carries the output.
//   - Preview ([infer] markComputed): in a create preview every output that does not mirror an input
//     (stdout, stderr) is unknown; in an update preview too, since some input changed (the default flow
//     makes every output depend on every input).
//   - Secrets ([infer] ensureDefaultSecrets): an output is secret when the input of the same name is;
//     a secret stdin stays secret, stdout/stderr do not become secret because of it.
//   - Id ([local] Create): resource.NewUniqueHex(name, 8, 0): the resource name plus 8 random hex digits.
//   - addPreviousOutputInEnv, logging, environment, interpreter, dir are only echoed.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

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
				Delete:  commandDelete,
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
	outs["stdout"], outs["stderr"] = resource.NewProperty(""), resource.NewProperty("")
	if command, ok := str(c.News["create"]); ok && simulated() {
		if err := runCommand(command, outs); err != nil {
			return "", nil, err
		}
	}
	return id, outs, nil
}

func commandUpdate(c *Call) (resource.PropertyMap, error) {
	outs := commandInputs(c.News)
	if c.Preview {
		outs["stdout"], outs["stderr"] = unknown(), unknown()
		return outs, nil
	}
	// [local] Update starts from the old stdout/stderr and runs update, or create.
	outs["stdout"], outs["stderr"] = stringOr(c.Olds["stdout"]), stringOr(c.Olds["stderr"])
	command, ok := str(c.News["update"])
	if !ok {
		command, ok = str(c.News["create"])
	}
	if ok && simulated() {
		if err := runCommand(command, outs); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

func commandDelete(c *Call) error {
	command, ok := str(c.Olds["delete"])
	if !ok || !simulated() {
		return nil
	}
	return runCommand(command, copyMap(c.Olds))
}

func stringOr(v resource.PropertyValue) resource.PropertyValue {
	s, _ := str(v)
	return resource.NewProperty(s)
}

// runCommand runs a command with the resource's inputs and sets its stdout and stderr ([local] run).
func runCommand(command string, props resource.PropertyMap) error {
	args := []string{"/bin/sh", "-c"}
	if interpreter := stringList(props["interpreter"]); len(interpreter) > 0 {
		args = interpreter
	}
	args = append(args, command)
	cmd := exec.Command(args[0], args[1:]...) //nolint:gosec // running the resource's command is the point
	if dir, ok := str(props["dir"]); ok {
		cmd.Dir = dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		cmd.Dir = wd
	}
	cmd.Env = os.Environ()
	if env := plain(props["environment"]); env.IsObject() {
		for k, v := range env.ObjectValue() {
			if s, ok := str(v); ok {
				cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", k, s))
			}
		}
	}
	if add := plain(props["addPreviousOutputInEnv"]); !add.IsBool() || add.BoolValue() {
		for key, name := range map[resource.PropertyKey]string{"stdout": "PULUMI_COMMAND_STDOUT", "stderr": "PULUMI_COMMAND_STDERR"} {
			if s, _ := str(props[key]); s != "" {
				cmd.Env = append(cmd.Env, name+"="+s)
			}
		}
	}
	if stdin, ok := str(props["stdin"]); ok && stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	both := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, both), io.MultiWriter(&stderr, both)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, command, both.b.String())
	}
	props["stdout"] = resource.NewProperty(strings.TrimSuffix(stdout.String(), "\n"))
	props["stderr"] = resource.NewProperty(strings.TrimSuffix(stderr.String(), "\n"))
	return nil
}

// lockedBuffer interleaves stdout and stderr as they come ([local] util.ConcurrentWriter).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
