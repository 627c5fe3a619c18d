// Validation rules that bound the work one operation can ask for, so a single request cannot hold
// the server: a maximum selection depth and a maximum estimated cost.
//
// The cost counts every selected field once, multiplied by the page size of each enclosing
// connection. A literal `first` or `last` gives that size, a missing one the default page size,
// and a variable the largest page size, because variables are not known during validation. The
// cost is thus an upper bound on the rows an operation can load, computed before anything runs.
import {
  GraphQLError,
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  type ASTVisitor,
  type GraphQLCompositeType,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../services/pagination.js';

export const MAX_DEPTH = 12;
export const MAX_COST = 50_000;

export function operationLimitsRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      const root =
        operation.operation === 'query'
          ? context.getSchema().getQueryType()
          : operation.operation === 'mutation'
            ? context.getSchema().getMutationType()
            : context.getSchema().getSubscriptionType();
      if (!root) return;

      const { cost, depth } = measure(context, operation.selectionSet, root, 1, new Set());
      if (depth > MAX_DEPTH) {
        context.reportError(
          new GraphQLError(
            `The operation is ${depth} fields deep; the limit is ${MAX_DEPTH}. Split it into smaller queries.`,
            { nodes: [operation], extensions: { code: 'BAD_USER_INPUT' } },
          ),
        );
      } else if (cost > MAX_COST) {
        context.reportError(
          new GraphQLError(
            `The operation may load up to ${Math.round(cost)} fields, over the limit of ${MAX_COST}. ` +
              'Ask for smaller pages (first/last) or fewer nested lists.',
            { nodes: [operation], extensions: { code: 'BAD_USER_INPUT' } },
          ),
        );
      }
    },
  };
}

function measure(
  context: ValidationContext,
  selectionSet: SelectionSetNode,
  parentType: GraphQLCompositeType,
  level: number,
  fragmentsSeen: Set<string>,
): { cost: number; depth: number } {
  let cost = 0;
  let depth = level - 1;

  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const fields =
        isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields() : {};
      const definition = fields[selection.name.value];
      let childCost = 0;
      let childDepth = level;
      if (definition && selection.selectionSet) {
        const childType = getNamedType(definition.type);
        if (isCompositeType(childType)) {
          const child = measure(
            context,
            selection.selectionSet,
            childType,
            level + 1,
            fragmentsSeen,
          );
          childCost = child.cost;
          childDepth = child.depth;
        }
      }
      const returnsConnection = definition
        ? getNamedType(definition.type).name.endsWith('Connection')
        : false;
      cost += 1 + (returnsConnection ? pageSize(selection.arguments ?? []) : 1) * childCost;
      depth = Math.max(depth, childDepth);
      continue;
    }

    // Fragments count where they are spread; a fragment cycle is reported by graphql-js itself.
    const fragment =
      selection.kind === Kind.INLINE_FRAGMENT
        ? selection
        : context.getFragment(selection.name.value);
    if (!fragment) continue;
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      if (fragmentsSeen.has(selection.name.value)) continue;
      fragmentsSeen = new Set(fragmentsSeen).add(selection.name.value);
    }
    const conditionName = fragment.typeCondition?.name.value;
    const conditionType = conditionName ? context.getSchema().getType(conditionName) : parentType;
    const fragmentType =
      conditionType && isCompositeType(conditionType) ? conditionType : parentType;
    const inner = measure(context, fragment.selectionSet, fragmentType, level, fragmentsSeen);
    cost += inner.cost;
    depth = Math.max(depth, inner.depth);
  }
  return { cost, depth };
}

function pageSize(
  args: readonly { name: { value: string }; value: { kind: string; value?: unknown } }[],
): number {
  const size = args.find((arg) => arg.name.value === 'first' || arg.name.value === 'last');
  if (!size) return DEFAULT_PAGE_SIZE;
  if (size.value.kind === Kind.INT) return Math.max(1, Number(size.value.value));
  return MAX_PAGE_SIZE;
}

/**
 * Rejects string literals that Postgres cannot store: NUL characters and unpaired UTF-16
 * surrogates. Variables get the same check in `findUnstorableString`.
 */
export function storableStringsRule(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node) {
      if (!isStorable(node.value)) {
        context.reportError(
          new GraphQLError(UNSTORABLE_MESSAGE, {
            nodes: [node],
            extensions: { code: 'BAD_USER_INPUT' },
          }),
        );
      }
    },
  };
}

export const UNSTORABLE_MESSAGE =
  'Strings must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates; Postgres cannot store them.';

/** Returns the path of the first string in `value` that Postgres cannot store, or null. */
export function findUnstorableString(value: unknown, path = '$'): string | null {
  if (typeof value === 'string') return isStorable(value) ? null : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableString(item, `${path}[${index}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findUnstorableString(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return null;
}

function isStorable(text: string): boolean {
  return !text.includes('\u0000') && (text as string & { isWellFormed(): boolean }).isWellFormed();
}
