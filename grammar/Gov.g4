// Gov policy language grammar. The parse tree it yields is converted to the
// AST in compiler/parse/ and never leaves that folder. Precedence is spelled
// out as one rule per level (no left recursion) so that chains such as
// `a and b and c` produce flat trees and parse in one pass (SLL).
//
// Every element the AST builder reads carries a label (`x=` or `xs+=`) and
// alternatives are told apart by their labels, not by `#` alternative
// labels: the parser then runs without building child lists or terminal
// nodes (setBuildParseTree(false)), which is much cheaper. Operator chains
// are labelled `first=... (op rest+=...)*` so that the usual single operand
// allocates no list. Labels change neither the language nor the ATN. compiler/parse/lexer.h
// implements the lexical rules at the end of this file.
grammar Gov;

// Base classes that make the ANTLR runtime cheaper (compiler/parse/generated_base.h).
options { superClass = GovParserBase; contextSuperClass = GovPooledContext; }
@parser::header {#include "compiler/parse/generated_base.h"}

// ---------------------------------------------------------------- files

file
    : declaration* EOF
    ;

// The parser reads one declaration at a time (see compiler/parse/parse.cpp):
// the token stream is split at declaration keywords so that a syntax error
// loses only its own declaration.
singleDeclaration
    : decl=declaration EOF
    ;

declaration
    : header=policyHeader
    | imported=importDecl
    | constant=constDecl
    | contextBlock=contextDecl
    | function=defDecl
    | policyRule=ruleDecl
    | testBlock=testDecl
    | defaults=defaultDecl
    | command=commandDecl
    ;

policyHeader
    : 'policy' name=IDENT ('version' version=STRING)?
    ;

// `with rules`: the module's rules join this policy, named ALIAS.RULE
// (`rules` is checked by the AST builder).
importDecl
    : 'import' (module=dottedName | path=STRING) ('as' alias=IDENT)? (withKeyword='with' rulesWord=IDENT)?
    ;

dottedName
    : parts+=IDENT ('.' parts+=IDENT)*
    ;

constDecl
    : 'const' name=IDENT ':' declared=type '=' value=expr
    ;

contextDecl
    : 'context' '{' (fields+=contextField ','?)* '}'
    ;

contextField
    : name=IDENT ':' declared=type
    ;

defDecl
    : 'def' name=IDENT '(' (params+=param (',' params+=param)* ','?)? ')' ':' result=type '=' body=expr
    ;

param
    : name=IDENT ':' declared=type
    ;

ruleDecl
    : verdict=('allow' | 'deny' | 'ask') name=IDENT 'when' condition=expr
      ('because' reason=STRING)?
      (withKeyword='with' '{' (obligations+=obligation (',' obligations+=obligation)* ','?)? '}')?
    ;

// `network = any` spells a keyword as a value, so `any` is accepted here as a name.
obligation
    : name=IDENT '=' (anyValue='any' | value=expr)
    ;

// `command rm { ... }`: a program's command line (docs/language.md "Argument
// grammars"). The item words (`style`, `flag`, `option`, `operands`,
// `subcommand`) and modifiers are checked by the AST builder, so they stay
// usable as names elsewhere.
commandDecl
    : 'command' name=IDENT '{' items+=commandItem* '}'
    ;

// `style gnu` | `flag NAME: SPELLINGS` | `option NAME: TYPE MODIFIERS = SPELLINGS`
// | `operands NAME: TYPE COUNT, ...` | `subcommand NAME { ITEMS }`
// | `subcommand NAME: "written-name" { ITEMS }`
commandItem
    : kind=IDENT word=IDENT
    | kind=IDENT name=IDENT ':' spellings+=STRING (',' spellings+=STRING)*
    | kind=IDENT name=IDENT ':' value=valueType modifiers+=IDENT* '=' spellings+=STRING (',' spellings+=STRING)*
    | kind=IDENT groups+=operandGroup (',' groups+=operandGroup)*
    | kind=IDENT name=IDENT (':' spellings+=STRING)? '{' items+=commandItem* '}'
    ;

operandGroup
    : name=IDENT ':' value=valueType count=('*' | '+')?
    ;

// A value's type: a Gov type, or `enum {"a", "b"}` (choices).
valueType
    : enumWord=IDENT '{' choices+=STRING (',' choices+=STRING)* ','? '}' optional='?'?
    | plain=type
    ;

// `default with { ... }`: the obligations of every allow and ask rule that
// has no `with` of its own. `default ask because "..."`: what a request no
// rule decides gets (`deny` unless declared; `allow` is refused by the checker).
defaultDecl
    : 'default' withKeyword='with' '{' (obligations+=obligation (',' obligations+=obligation)* ','?)? '}'
    | 'default' verdict=('allow' | 'deny' | 'ask') ('because' reason=STRING)?
    ;

testDecl
    : 'test' name=STRING '{' cases+=testCase* '}'
    ;

// `=> allow by a, b` (exactly these rules decide), `by a and others` (at
// least these), `not by c` (c does not decide), `with { timeout = 10m }`
// (exactly these obligations apply); `others` is checked by the AST builder.
// Several command lines (`exec [...], [...]`) are a table: one case each,
// with the same modifiers and expectations.
testCase
    : 'exec' argvs+=expr (',' argvs+=expr)* modifiers+=testModifier* '=>' verdict=('allow' | 'deny' | 'ask')
      ('by' byRules+=ruleName (',' byRules+=ruleName)* ('and' others=IDENT)?)?
      (notKeyword='not' 'by' notByRules+=ruleName (',' notByRules+=ruleName)*)?
      (withKeyword='with' '{' (obligations+=obligation (',' obligations+=obligation)* ','?)? '}')?
    ;

// A rule of this policy, `default`, or an included module's rule (`org.rule`).
ruleName
    : first=(IDENT | 'default') ('.' rest+=IDENT)*
    ;

// `cwd "/w"`, `context { ticket = "X" }`, `env { HOME = "/h" }`, ... (kinds checked by the AST builder)
testModifier
    : (kind=IDENT | kind='context') value=expr
    ;

// ---------------------------------------------------------------- types

type
    : base=baseType optional='?'?
    ;

// A named type (`name` set) or a record type.
baseType
    : name=IDENT ('<' args+=type (',' args+=type)* '>')?
    | '{' (fields+=recordTypeField (',' fields+=recordTypeField)* ','?)? '}'
    ;

recordTypeField
    : name=IDENT ':' declared=type
    ;

// ---------------------------------------------------------------- expressions

expr
    : inner=orExpr
    ;

orExpr
    : first=andExpr ('or' rest+=andExpr)*
    ;

andExpr
    : first=notExpr ('and' rest+=notExpr)*
    ;

notExpr
    : negation='not' operand=notExpr
    | quantifier=('any' | 'all') var=IDENT 'in' domain=expr ':' body=expr
    | conditional='if' cond=expr 'then' then=expr 'else' otherwise=expr
    | comparison=compareExpr
    ;

// `EXPR as NAME: BODY`: BODY with NAME bound to EXPR's value when EXPR is
// present, else false.
compareExpr
    : lhs=coalesceExpr (op=compareOp rhs=coalesceExpr | asKeyword='as' var=IDENT ':' body=expr)?
    ;

compareOp
    : '==' | '!=' | '<' | '<=' | '>' | '>='
    | 'in' | 'not' 'in' | 'under' | 'matches'
    ;

coalesceExpr
    : first=additiveExpr (ops+='??' rest+=additiveExpr)*
    ;

additiveExpr
    : first=multiplicativeExpr (ops+=additiveOp rest+=multiplicativeExpr)*
    ;

additiveOp
    : '+' | '-'
    ;

multiplicativeExpr
    : first=unaryExpr (ops+=multiplicativeOp rest+=unaryExpr)*
    ;

multiplicativeOp
    : '*' | '/' | '%'
    ;

unaryExpr
    : negate='-' operand=unaryExpr
    | inner=postfixExpr
    ;

postfixExpr
    : base=primary suffixes+=postfix*
    ;

// A member access or method call (`dot` set) or an index.
postfix
    : dot='.' name=IDENT (call='(' args=arguments? ')')?
    | '[' index=expr ']'
    ;

arguments
    : items+=expr (',' items+=expr)* ','?
    ;

primary
    : stringLiteral=STRING
    | globLiteral=GLOB
    | regexLiteral=REGEX
    | intLiteral=INT
    | durationLiteral=DURATION
    | sizeLiteral=SIZE
    | boolLiteral=('true' | 'false')
    | noneLiteral='none'
    | callee=IDENT '(' callArgs=arguments? ')'
    | variable=IDENT
    | contextKeyword='context'
    | paren='(' inner=expr ')'
    | list='[' items=arguments? ']'
    | set='{' items=arguments '}'
    | record=recordLiteral
    ;

recordLiteral
    : '{' (fields+=recordField (',' fields+=recordField)* ','?)? '}'
    ;

recordField
    : name=fieldName '=' value=expr
    ;

fieldName
    : IDENT | 'context'
    ;

// ---------------------------------------------------------------- lexical rules

GLOB
    : 'g"' STRING_BODY '"'
    ;

REGEX
    : 'r"' STRING_BODY '"'
    ;

STRING
    : '"' STRING_BODY '"'
    ;

// A string that reaches the end of its line unclosed; the AST builder reports it.
UNTERMINATED_STRING
    : [gr]? '"' STRING_BODY
    ;

fragment STRING_BODY
    : (~["\\\r\n] | '\\' ~[\r\n])*
    ;

DURATION
    : DIGITS ('ms' | 's' | 'm' | 'h' | 'd')
    ;

SIZE
    : DIGITS ('B' | 'KiB' | 'MiB' | 'GiB' | 'TiB' | 'KB' | 'MB' | 'GB' | 'TB')
    ;

INT
    : DIGITS
    ;

// A number with an unknown unit (`10min`, `0x1F`); the AST builder reports it.
BAD_NUMBER
    : DIGITS [a-zA-Z_] [a-zA-Z_0-9]*
    ;

fragment DIGITS
    : [0-9] ('_'? [0-9])*
    ;

IDENT
    : [a-zA-Z_] [a-zA-Z_0-9]*
    ;

LINE_COMMENT
    : '//' ~[\r\n]* -> channel(HIDDEN)
    ;

BLOCK_COMMENT
    : '/*' .*? '*/' -> channel(HIDDEN)
    ;

// `/*` with no `*/` after it: the text to the end of the file contains no `*/`.
UNTERMINATED_COMMENT
    : '/*' (~'*' | '*'+ ~[*/])* '*'* EOF
    ;

WS
    : [ \t\r\n]+ -> channel(HIDDEN)
    ;

// Anything else becomes a token so the parser can report it with a span.
ERRCHAR
    : .
    ;
