// Gov policy language grammar. The parse tree it yields is converted to the
// AST in compiler/parse/ and never leaves that folder. Precedence is spelled
// out as one rule per level (no left recursion) so that chains such as
// `a and b and c` produce flat trees and parse in one pass (SLL).
grammar Gov;

// ---------------------------------------------------------------- files

file
    : declaration* EOF
    ;

// The parser reads one declaration at a time (see compiler/parse/parse.cpp):
// the token stream is split at declaration keywords so that a syntax error
// loses only its own declaration.
singleDeclaration
    : declaration EOF
    ;

declaration
    : policyHeader
    | importDecl
    | constDecl
    | contextDecl
    | defDecl
    | ruleDecl
    | testDecl
    ;

policyHeader
    : 'policy' name=IDENT ('version' version=STRING)?
    ;

importDecl
    : 'import' (module=dottedName | path=STRING) ('as' alias=IDENT)?
    ;

dottedName
    : IDENT ('.' IDENT)*
    ;

constDecl
    : 'const' name=IDENT ':' type '=' value=expr
    ;

contextDecl
    : 'context' '{' (contextField ','?)* '}'
    ;

contextField
    : name=IDENT ':' type
    ;

defDecl
    : 'def' name=IDENT '(' (param (',' param)* ','?)? ')' ':' result=type '=' body=expr
    ;

param
    : name=IDENT ':' type
    ;

ruleDecl
    : verdict=('allow' | 'deny' | 'ask') name=IDENT 'when' condition=expr
      ('because' reason=STRING)?
      ('with' '{' (obligation (',' obligation)* ','?)? '}')?
    ;

// `network = any` spells a keyword as a value, so `any` is accepted here as a name.
obligation
    : name=IDENT '=' (anyValue='any' | value=expr)
    ;

testDecl
    : 'test' name=STRING '{' testCase* '}'
    ;

testCase
    : 'exec' argv=expr testModifier* '=>' verdict=('allow' | 'deny' | 'ask')
      ('by' IDENT (',' IDENT)*)?
    ;

// `cwd "/w"`, `context { ticket = "X" }`, `env { HOME = "/h" }`, ... (kinds checked by the AST builder)
testModifier
    : (kind=IDENT | kind='context') value=expr
    ;

// ---------------------------------------------------------------- types

type
    : base=baseType optional='?'?
    ;

baseType
    : name=IDENT ('<' type (',' type)* '>')?     # NamedType
    | '{' (recordTypeField (',' recordTypeField)* ','?)? '}' # RecordType
    ;

recordTypeField
    : name=IDENT ':' type
    ;

// ---------------------------------------------------------------- expressions

expr
    : orExpr
    ;

orExpr
    : andExpr ('or' andExpr)*
    ;

andExpr
    : notExpr ('and' notExpr)*
    ;

notExpr
    : 'not' notExpr                                            # NegationExpr
    | quantifier=('any' | 'all') var=IDENT 'in' domain=expr ':' body=expr # QuantifierExpr
    | 'if' cond=expr 'then' then=expr 'else' otherwise=expr      # IfExpr
    | compareExpr                                              # ComparisonOnly
    ;

compareExpr
    : lhs=coalesceExpr (op=compareOp rhs=coalesceExpr)?
    ;

compareOp
    : '==' | '!=' | '<' | '<=' | '>' | '>='
    | 'in' | 'not' 'in' | 'under' | 'matches'
    ;

coalesceExpr
    : additiveExpr ('??' additiveExpr)*
    ;

additiveExpr
    : multiplicativeExpr (additiveOp multiplicativeExpr)*
    ;

additiveOp
    : '+' | '-'
    ;

multiplicativeExpr
    : unaryExpr (multiplicativeOp unaryExpr)*
    ;

multiplicativeOp
    : '*' | '/' | '%'
    ;

unaryExpr
    : '-' unaryExpr        # NegateExpr
    | postfixExpr          # PostfixOnly
    ;

postfixExpr
    : primary postfix*
    ;

postfix
    : '.' name=IDENT ('(' arguments? ')')?   # MemberPostfix
    | '[' index=expr ']'                      # IndexPostfix
    ;

arguments
    : expr (',' expr)* ','?
    ;

primary
    : STRING                                  # StringLiteral
    | GLOB                                    # GlobLiteral
    | REGEX                                   # RegexLiteral
    | INT                                     # IntLiteral
    | DURATION                                # DurationLiteral
    | SIZE                                    # SizeLiteral
    | ('true' | 'false')                      # BoolLiteral
    | 'none'                                  # NoneLiteral
    | name=IDENT '(' arguments? ')'           # CallExpr
    | IDENT                                   # NameExpr
    | 'context'                               # ContextExpr
    | '(' expr ')'                            # ParenExpr
    | '[' arguments? ']'                      # ListLiteral
    | '{' arguments '}'                       # SetLiteral
    | recordLiteral                           # RecordLiteralExpr
    ;

recordLiteral
    : '{' (recordField (',' recordField)* ','?)? '}'
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
