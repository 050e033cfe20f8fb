" Vim syntax file for Gov execution policies (.gov); the lexical rules of
" grammar/Gov.g4, with the scopes of editors/vscode/syntaxes/gov.tmLanguage.json.
if exists('b:current_syntax')
  finish
endif

syntax keyword govVerdict allow deny ask
syntax keyword govDeclaration policy version import as const def context test default command
syntax keyword govControl when because with if then else exec by
syntax keyword govOperatorWord and or not in under matches any all
syntax keyword govConstant true false none
syntax match govType /\%(\.\)\@<!\<\%(string\|int\|bool\|path\|duration\|size\|digest\|glob\|regex\|list\|set\|map\)\>\%(\s*[(=]\)\@!/
syntax match govBuiltin /\<\%(len\|path\)\ze\s*(/
syntax match govFunction /\<[A-Za-z_][A-Za-z0-9_]*\ze\s*(/
syntax match govDefName /\%(\<def\s\+\)\@<=[A-Za-z_][A-Za-z0-9_]*/
syntax match govRuleName /^\s*\%(allow\|deny\|ask\)\s\+\zs\%(\%(when\|by\|because\|with\)\>\)\@![A-Za-z_][A-Za-z0-9_]*/

syntax match govInvalidNumber /\<[0-9][A-Za-z0-9_]*/
syntax match govNumber /\<[0-9]\%(_\=[0-9]\)*\>/
syntax match govDuration /\<[0-9]\%(_\=[0-9]\)*\%(ms\|s\|m\|h\|d\)\>/
syntax match govSize /\<[0-9]\%(_\=[0-9]\)*\%(KiB\|MiB\|GiB\|TiB\|KB\|MB\|GB\|TB\|B\)\>/
syntax match govOperator /=>\|==\|!=\|<=\|>=\|??\|[<>+\-*%=?]/

syntax match govEscape /\\./ contained
syntax region govString start=/"/ skip=/\\./ end=/"\|$/ contains=govEscape oneline
syntax region govGlob start=/\<g"/ skip=/\\./ end=/"\|$/ contains=govEscape oneline
syntax region govRegex start=/\<r"/ skip=/\\./ end=/"\|$/ contains=govEscape oneline

syntax keyword govTodo TODO FIXME XXX NOTE contained
syntax match govLineComment +//.*$+ contains=govTodo,@Spell
syntax region govBlockComment start=+/\*+ end=+\*/+ contains=govTodo,@Spell

highlight default link govVerdict Statement
highlight default link govDeclaration Keyword
highlight default link govControl Conditional
highlight default link govOperatorWord Operator
highlight default link govOperator Operator
highlight default link govConstant Constant
highlight default link govType Type
highlight default link govBuiltin Function
highlight default link govFunction Function
highlight default link govDefName Function
highlight default link govRuleName Identifier
highlight default link govNumber Number
highlight default link govDuration Number
highlight default link govSize Number
highlight default link govInvalidNumber Error
highlight default link govString String
highlight default link govGlob String
highlight default link govRegex String
highlight default link govEscape SpecialChar
highlight default link govLineComment Comment
highlight default link govBlockComment Comment
highlight default link govTodo Todo

let b:current_syntax = 'gov'
