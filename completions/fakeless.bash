# bash completion for fakeless                                  -*- shell-script -*-
# Installed as share/bash-completion/completions/fakeless; or: source completions/fakeless.bash
_fakeless() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n = || return
  else
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi

  local scan_opts="-j --jobs --format --ordered --ext --exclude --follow-symlinks --files-from -0 --null
    --cache --shard --quick --only-flagged --threshold --model --model-file --cnn-file --segments --segment-length --progress --timeout --max-memory --spectrograms -q --quiet -v --verbose --log-level
    --log-file -h --help"
  local log_opts="-q --quiet -v --verbose --log-level --log-file -h --help"

  # The subcommand: the first word that is one (a bare path means scan).
  local cmd="" action="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      scan | features | patches | cache | spectrogram | report | models) [ -z "$cmd" ] && cmd=${words[i]} ;;
      stats | prune | export) [ "$cmd" = cache ] && [ -z "$action" ] && action=${words[i]} ;;
    esac
  done

  case $prev in
    --format) COMPREPLY=($(compgen -W "ndjson json table csv" -- "$cur")); return ;;
    --progress) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "trace debug info warn error critical off" -- "$cur")); return ;;
    --files-from) COMPREPLY=($(compgen -f -- "$cur") -); return ;;
    --model) COMPREPLY=($(compgen -W "fused tree cnn rule" -- "$cur")); return ;;
    --log-file | --cache | --model-file | --cnn-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -j | --jobs | --shard | --threshold | --ext | --exclude) return ;;
  esac

  if [ -z "$cmd" ] && [[ $cur != -* ]] && [ "$cword" = 1 ]; then
    COMPREPLY=($(compgen -W "scan cache features patches spectrogram report models" -- "$cur") $(compgen -f -- "$cur"))
    return
  fi
  case $cmd in
    cache)
      if [ -z "$action" ]; then
        COMPREPLY=($(compgen -W "stats prune export $log_opts" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--cache $log_opts" -- "$cur"))
      fi
      ;;
    models)
      COMPREPLY=($(compgen -W "--json $log_opts" -- "$cur"))
      ;;
    features)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$log_opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    patches)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "-o --output --budget --segment-length $log_opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    spectrogram)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "-o --output --width --height --range-db --holes $log_opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    report)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "-o --output --max-images --image-width --image-height $log_opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    *)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$scan_opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
  esac
}
complete -o filenames -o bashdefault -F _fakeless fakeless
