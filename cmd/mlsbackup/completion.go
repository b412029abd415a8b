package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The completion scripts ask the program itself for candidates: urfave/cli
// answers "--generate-bash-completion" with the subcommands or flags that fit.
const bashCompletion = `# bash completion for mlsbackup; load with:
#   source <(mlsbackup completion bash)
_mlsbackup_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}" candidates
	if [[ "$cur" == -* ]]; then
		candidates=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
	else
		candidates=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
	fi
	COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o bashdefault -o default -F _mlsbackup_complete mlsbackup
`

const zshCompletion = `#compdef mlsbackup
# zsh completion for mlsbackup; load with:
#   source <(mlsbackup completion zsh)
_mlsbackup() {
	local -a candidates
	local cur=${words[-1]}
	if [[ "$cur" == -* ]]; then
		candidates=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[@]:0:#words[@]-1} $cur --generate-bash-completion 2>/dev/null)}")
	else
		candidates=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
	fi
	if [[ -n "${candidates[1]}" ]]; then
		_describe 'mlsbackup' candidates
	else
		_files
	fi
}
compdef _mlsbackup mlsbackup
`

func (a *app) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash: source <(mlsbackup completion bash)\n" +
			"zsh:  source <(mlsbackup completion zsh)\n" +
			"fish: mlsbackup completion fish > ~/.config/fish/completions/mlsbackup.fish",
		Action: func(c *cli.Context) error {
			if err := positional(c, 1, 1, "bash|zsh|fish"); err != nil {
				return err
			}
			switch shell := c.Args().First(); shell {
			case "bash":
				_, err := fmt.Fprint(a.st.out, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(a.st.out, zshCompletion)
				return err
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("completion fish: %w", err)
				}
				_, err = fmt.Fprint(a.st.out, s)
				return err
			default:
				return usagef("completion: unsupported shell %q (want bash, zsh or fish)", shell)
			}
		},
	}
}
