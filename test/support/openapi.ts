import Ajv2020 from 'ajv/dist/2020.js';
import { isEventId, isRfc3339DateTime } from '../../src/events/schema.js';

/** An independent JSON Schema 2020-12 validator of one schema of an OpenAPI document's components. */
export function schemaValidator(document: { components: unknown }, schemaName: string): (value: unknown) => boolean {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  ajv.addFormat('date-time', isRfc3339DateTime);
  ajv.addFormat('event-id', isEventId);
  ajv.addFormat('well-formed', (value: string) => value.isWellFormed());
  ajv.addSchema({ $id: 'doc', components: document.components });
  const validate = ajv.getSchema(`doc#/components/schemas/${schemaName}`)!;
  return (value) => {
    const ok = validate(value) as boolean;
    if (!ok) console.error(schemaName, JSON.stringify(validate.errors));
    return ok;
  };
}
