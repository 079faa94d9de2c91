/**
 * A store whose schema a newer revokit has migrated: this one refuses to touch it rather
 * than guess at columns it does not know.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `the store's schema is at version ${found}, newer than this revokit knows (${known}); upgrade revokit`,
    );
  }
}
