"""Breakpoint conditions precompiled for the traced path (frames already running, code that cannot be compiled in,
and everything on sys.monitoring that LINE events reach): a function of the frame's locals that reads only the
names the condition uses, made once per code object and line, instead of an eval() per hit.

`make(text, code, f_globals)` returns check(f_locals) -> the condition's value, or None when the text cannot be
precompiled exactly like eval(text, f_globals, f_locals) would run it (a lambda or comprehension, whose scope
would see the frame's locals where eval's does not; `:=`; yield/await). check raises `Unbound` when a name the
condition reads is a local of `code` that has no value yet: eval would look it up among the globals, so the caller
falls back to eval for that hit. Names that are not locals of `code` are read as globals of the function, which is
what eval does with a locals mapping that lacks them (then the builtins).
"""

import ast
import types

__all__ = ["make", "Unbound"]


class Unbound(Exception):
    """A local the condition reads has no value yet: evaluate it the slow way."""


_MISSING = object()
_SCOPES = (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp, ast.Yield, ast.YieldFrom,
           ast.Await) + ((ast.NamedExpr,) if hasattr(ast, "NamedExpr") else ())


def _load(name):
    return ast.Name(id=name, ctx=ast.Load())


def make(text, code, f_globals):
    try:
        tree = ast.parse(text.strip(), "<condition>", "eval")
    except (SyntaxError, ValueError):
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES):
            return None
        if isinstance(node, ast.Name):
            names.add(node.id)
    local = sorted(names & (set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)))
    body = []
    for name in local:
        # name = __lr_l.get('name', __lr_m); if name is __lr_m: raise __lr_u
        body.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                               value=ast.Call(func=ast.Attribute(value=_load("__lr_l"), attr="get", ctx=ast.Load()),
                                              args=[ast.Constant(value=name), _load("__lr_m")], keywords=[])))
        body.append(ast.If(test=ast.Compare(left=_load(name), ops=[ast.Is()], comparators=[_load("__lr_m")]),
                           body=[ast.Raise(exc=_load("__lr_u"), cause=None)], orelse=[]))
    body.append(ast.Return(value=tree.body))
    inner = _def("__lr_check", ["__lr_l"], body)
    outer = _def("__lr_outer", ["__lr_m", "__lr_u"], [inner, ast.Return(value=_load("__lr_check"))])
    module = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(module)
    try:
        compiled = compile(module, "<condition>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    outer_code = [c for c in compiled.co_consts if isinstance(c, types.CodeType)][0]
    return types.FunctionType(outer_code, f_globals)(_MISSING, Unbound)


def _def(name, params, body):
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p, annotation=None) for p in params], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    node = ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None, type_comment=None)
    if "type_params" in ast.FunctionDef._fields:
        node.type_params = []
    return node
